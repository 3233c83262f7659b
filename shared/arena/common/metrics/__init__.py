"""Benchmark metrics from request samples: pure functions with the reference tools' definitions."""

from arena.common.metrics.closed_loop import closed_loop_metrics
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.summary import HEADLINE, Headline, summarize, summarize_closed_loop

__all__ = [
    "HEADLINE",
    "Headline",
    "closed_loop_metrics",
    "open_loop_metrics",
    "summarize",
    "summarize_closed_loop",
]
