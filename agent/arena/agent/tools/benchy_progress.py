"""llama-benchy's ``--emit-progress`` JSONL events folded into Arena samples as they arrive.

Events carry wall-clock ``ts``; a sample time is ``ts - clock.wall_origin``, the job's time axis.
A request is announced a little before its timer starts, so its send time is taken back from
its first response (``ts - ttfr_s``) and the announcement serves only when no response came.
Warm-up requests emit nothing; ``run_index`` counts the warm-up, so measured runs start at 1
unless ``--no-warmup`` was given.
"""

import json
from dataclasses import dataclass, field
from typing import Any

import structlog

from arena.common.schemas.sample import RequestSample

log = structlog.get_logger(__name__)


@dataclass
class _Open:
    variant: str
    run: int
    index: int
    sent_s: float
    max_tokens: int
    first_response_s: float | None = None
    first_token_s: float | None = None
    chunks: list[float] = field(default_factory=list)


@dataclass
class BenchyProgress:
    benchmark: str
    wall_origin: float
    warmup: bool
    baseline_latency_s: float | None = None
    latest: tuple[str, int] | None = None
    """(variant, run) of the most recently started request."""
    _open: dict[int, _Open] = field(default_factory=dict)
    _counts: dict[tuple[str, int], int] = field(default_factory=dict)

    def feed(self, line: str) -> RequestSample | None:
        """One JSONL line; returns the sample it completes, if any."""
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            log.warning("unreadable llama-benchy progress line", line=line[:200])
            return None
        if not isinstance(event, dict):
            return None
        return self._event(event)

    def _event(self, event: dict[str, Any]) -> RequestSample | None:
        kind, at = event.get("type"), float(event.get("ts", 0.0)) - self.wall_origin
        if kind == "latency_measured":
            self.baseline_latency_s = float(event["latency_s"])
            return None
        if kind == "request_start":
            self._start(event, at)
            return None
        request = self._open.get(int(event.get("request_id", -1)))
        if request is None:
            return None
        if kind == "request_first_response":
            request.first_response_s = at
            request.sent_s = at - float(event["ttfr_s"])
        elif kind == "request_first_token":
            request.first_token_s = at
        elif kind == "tokens" and int(event.get("count", 0)) > 0:
            request.chunks.append(at)
        elif kind == "request_end":
            del self._open[int(event["request_id"])]
            return self._sample(request, event, at)
        return None

    def _start(self, event: dict[str, Any], at: float) -> None:
        variant = (
            f"pp{event['prompt_size']}/tg{event['response_size']}"
            f"/d{event['context_size']}/c{event['concurrency']}"
        )
        run = int(event["run_index"]) - (1 if self.warmup else 0)
        index = self._counts.get((variant, run), 0)
        self._counts[(variant, run)] = index + 1
        self.latest = (variant, run)
        self._open[int(event["request_id"])] = _Open(
            variant, run, index, at, int(event["response_size"])
        )

    def _sample(self, request: _Open, event: dict[str, Any], at: float) -> RequestSample:
        error = str(event.get("error") or "") or None
        return RequestSample(
            benchmark=self.benchmark,
            variant=request.variant,
            run=request.run,
            index=request.index,
            sent_s=request.sent_s,
            first_response_s=request.first_response_s,
            first_token_s=request.first_token_s,
            end_s=at,
            chunk_times_s=request.chunks,
            prompt_tokens=int(event["prompt_tokens"]) if event.get("prompt_tokens") else None,
            completion_tokens=None if error else int(event.get("total_tokens") or 0),
            max_tokens=request.max_tokens,
            error=error,
            baseline_latency_s=self.baseline_latency_s,
        )
