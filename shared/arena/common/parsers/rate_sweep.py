"""The rate-sweep summary (``11-rate-sweep.json``): capacity under p95-TTFT limits, and steps.

Each step's full numbers live in its own vLLM result (``11-rate-sweep-<rate>.json``, read by
``vllm_result``); this file adds the capacity read off those steps: for each limit (2, 5 and
10 s), the highest configured rate whose p95 TTFT stayed under it, or ``null`` if none did.
"""

import json
import re

from pydantic import ValidationError

from arena.common.parsers import ParseError
from arena.common.schemas.imported import RateSweepSummary

STEP_FILE = re.compile(r"^(?P<prefix>\d\d)-rate-sweep-(?P<rate>\d+(?:\.\d+)?|inf)\.json$")
"""A step's result file; the rate in its name is the configured rate."""


def parse_summary(text: str) -> RateSweepSummary:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ParseError(f"not valid JSON: {error}") from error
    if not isinstance(document, dict) or "capacity_by_slo_ms" not in document:
        raise ParseError("not a rate-sweep summary: 'capacity_by_slo_ms' missing")
    fields = {key: document.get(key) for key in RateSweepSummary.model_fields if key in document}
    try:
        return RateSweepSummary.model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ParseError(f"{where}: {first['msg']}") from error
