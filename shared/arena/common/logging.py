"""The one structlog configuration, applied once by each entry point.

Library code only calls ``structlog.get_logger(__name__)`` and binds context (``job_id``,
``agent_id``); what gets rendered, and how, is decided here.
"""

import logging
import sys
from typing import Literal

import structlog

from arena.common.redact import SHAPES_ONLY

LogFormat = Literal["console", "json"]


def configure_logging(level: str = "info", fmt: LogFormat = "console") -> None:
    """Send structured logs to stderr, as JSON lines or for humans."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def redact_secrets(
    _: object, __: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Whatever is shaped like a token (``hf_…``, ``Bearer …``, ``HF_TOKEN=…``) is replaced in
    every rendered line, tracebacks included (``arena.common.redact``)."""
    return {key: SHAPES_ONLY.tree(value) for key, value in event.items()}
