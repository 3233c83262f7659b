"""Benchmark metrics from request samples: pure functions with the reference tools' definitions."""

from arena.common.metrics.catalogue import CATALOGUE, Metric
from arena.common.metrics.closed_loop import closed_loop_metrics
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.summary import HEADLINE, summarize, summarize_closed_loop

__all__ = [
    "CATALOGUE",
    "HEADLINE",
    "Metric",
    "closed_loop_metrics",
    "open_loop_metrics",
    "summarize",
    "summarize_closed_loop",
]
