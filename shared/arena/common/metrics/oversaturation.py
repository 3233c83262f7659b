"""Over-saturation: an open-loop run with no steady state, its queue still growing at the end.

When requests arrive faster than the server completes them, the requests in flight and the
time to first token grow for as long as the run lasts: its means, percentiles and throughput
describe only how long the run was, not a load the server sustains. guidellm stops such a
benchmark (its over-saturation constraint); Arena labels the run after the fact with the same
idea, read off the samples:

- window: the requests that *arrived* (scheduled arrival, else send) in the last 75 % of the
  run's arrival span, at most the last 120 s (the first quarter is the ramp from an empty
  server, which always climbs);
- two series over the window, both against arrival time: the requests in flight at each
  arrival (arrived, not yet ended: the client's own queue counts, so a ``max_concurrency`` gate
  cannot hide the backlog) and each request's TTFT counted from its arrival (the wait a user
  arriving then sees);
- each series must rise: least-squares slope > 0 with a margin of error, t(97.5 %, n − 2) ·
  SE / slope, under 0.5 — guidellm's test, with n capped at the window's seconds because
  requests of the same second are correlated. guidellm accepts a margin under 2 because it also
  asks half the TTFTs to exceed 2.5 s; an absolute floor would miss a small fast model, so
  Arena drops it and asks the stricter margin instead (on a simulated 2-slot server fed Poisson
  arrivals for 30 s, 100 seeds: flagged 0 at 50 % load, 7 at 80 %, 96 at 150 %, 100 at 200 %);
- and rise by a meaningful amount: over the window the fitted TTFT at least ×1.5 and the
  fitted in-flight count at least ×1.5 and by 2 requests.

A run with no arrival span (every request at once) or too short a window (under 5 s or 5
requests) judges nothing: ``None``.
"""

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from arena.common.schemas.sample import RequestSample

WINDOW_SHARE = 0.75
MAX_WINDOW_S = 120.0
MIN_POINTS = 5
MAX_MARGIN = 0.5
MIN_GROWTH = 1.5
MIN_QUEUE_GROWTH = 2.0
"""Requests: a fitted rise of the in-flight count smaller than this is noise, not a backlog."""

T_975 = (
    (1, 12.706),
    (2, 4.303),
    (3, 3.182),
    (4, 2.776),
    (5, 2.571),
    (6, 2.447),
    (7, 2.365),
    (8, 2.306),
    (10, 2.228),
    (15, 2.131),
    (20, 2.086),
    (30, 2.042),
    (60, 2.0),
    (120, 1.98),
)
"""Student's t 97.5 % quantile by degrees of freedom; between rows the lower row's (larger,
so stricter) value is used."""


@dataclass(frozen=True)
class Trend:
    """A least-squares line through one series: where it starts and ends over the window."""

    slope: float
    margin: float
    """t · SE / slope: the slope's relative margin of error at 95 %; inf when slope ≤ 0."""
    start: float
    end: float

    def rising(self, growth: float, by_at_least: float = 0.0) -> bool:
        grew = self.end >= growth * self.start and self.end - self.start >= by_at_least
        return self.slope > 0 and self.margin < MAX_MARGIN and grew


def t_975(dof: int) -> float:
    return min((q for row, q in T_975 if row <= dof), default=math.inf)


def trend(xs: Sequence[float], ys: Sequence[float], effective_n: float) -> Trend | None:
    """The fitted line; ``None`` with fewer than ``MIN_POINTS`` (effective) points."""
    n_eff = math.floor(min(effective_n, len(xs)))
    if n_eff < MIN_POINTS:
        return None
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx <= 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - mean_y) ** 2 for y in ys)
    slope = sxy / sxx
    residual = max(syy - sxy**2 / sxx, 0.0)
    standard_error = math.sqrt(residual / (n_eff - 2) / sxx)
    margin = t_975(n_eff - 2) * standard_error / slope if slope > 0 else math.inf
    intercept = mean_y - slope * mean_x
    return Trend(slope, margin, intercept + slope * min(xs), intercept + slope * max(xs))


def arrival_s(sample: RequestSample) -> float:
    return sample.scheduled_s if sample.scheduled_s is not None else sample.sent_s


def in_flight_at_arrivals(samples: Sequence[RequestSample]) -> list[tuple[float, int]]:
    """(arrival, requests arrived and not yet ended at that moment) per request, by arrival; a
    request without an end stays in flight to the run's end."""
    arrivals = sorted(arrival_s(s) for s in samples)
    ends = sorted(s.end_s if s.end_s is not None else math.inf for s in samples)
    return [(t, bisect_right(arrivals, t) - bisect_right(ends, t)) for t in arrivals]


def window_start_s(samples: Sequence[RequestSample]) -> float | None:
    arrivals = [arrival_s(s) for s in samples]
    if not arrivals:
        return None
    first, last = min(arrivals), max(arrivals)
    return last - min(WINDOW_SHARE * (last - first), MAX_WINDOW_S)


def trends(samples: Sequence[RequestSample]) -> tuple[Trend | None, Trend | None]:
    """The in-flight and TTFT-from-arrival trends over the window; ``None`` where too short."""
    start = window_start_s(samples)
    if start is None:
        return None, None
    seconds = max(arrival_s(s) for s in samples) - start
    flight = [(t, float(n)) for t, n in in_flight_at_arrivals(samples) if t >= start]
    waits = [
        (arrival_s(s), s.first_token_s - arrival_s(s))
        for s in samples
        if s.ok and s.first_token_s is not None and arrival_s(s) >= start
    ]
    return (
        trend([t for t, _ in flight], [n for _, n in flight], seconds),
        trend([t for t, _ in waits], [w for _, w in waits], seconds),
    )


def oversaturated(samples: Sequence[RequestSample]) -> bool | None:
    """True when both the requests in flight and TTFT kept growing through the run; ``None``
    when the run is too short (or has too few successful requests) to tell."""
    flight, waits = trends(samples)
    if flight is None or waits is None:
        return None
    return flight.rising(MIN_GROWTH, MIN_QUEUE_GROWTH) and waits.rising(MIN_GROWTH)
