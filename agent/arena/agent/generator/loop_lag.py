"""How late the client's event loop ran during a run: the evidence of client stalls.

A stalled loop (a long callback, a garbage-collection pause, the process descheduled on a busy
box) stamps every read that waited behind it late, so the client adds the stall to TTFT and to
the gaps between tokens; CPU share cannot see descheduling and send lag sees a stall only if a
send was due in it. A monitor task sleeps ``INTERVAL_S`` again and again and records by how
much each wake-up overshot; any stall longer than that shows up as the overshoot of the tick it
covered. Per run: p99 and max of the lags; per request (``read_stall_s``): the largest stall
overlapping its [sent, first token] window.

The lag is the overshoot beyond ``SELECTOR_GRANULARITY_S``, not the raw overshoot: asyncio
waits in the selector (epoll) with a timeout CPython rounds UP to whole milliseconds, so when a
read wakes the loop between ticks the tick's remaining fraction of a millisecond becomes a
whole one and the tick fires up to 1 ms late with no stall at all. Such an overshoot delays no
read (a read arriving meanwhile wakes the loop at once), so it is not the client's lag; a loop
held up by a callback or by being descheduled runs its due timers as soon as it is free, so a
real stall shows in full and only its first millisecond is not counted. bench/client_honesty.py
(quiet and ``--stall-ms`` runs, raw overshoot beside the verdict) measured it: most ticks of a
quiet run overshoot by 0.1–1 ms, which put the raw p99 at or past the 1 ms limit on every run.

Cost: one timer per ``INTERVAL_S`` (bench/loop_lag_cost.py measures it against a run without
the monitor).
"""

import asyncio
import bisect
from array import array
from types import TracebackType

from arena.agent.generator.clock import JobClock
from arena.common import stats

INTERVAL_S = 0.002
"""Tick period: short enough that a 1 ms stall is seen, long enough to cost nothing."""
SELECTOR_GRANULARITY_S = 0.001
"""How late asyncio's selector lets a timer fire on a loop that is not stalled (its timeout is
rounded up to whole milliseconds): the part of an overshoot that is not lag."""


class LoopMonitor:
    """Ticks on the running loop between ``start`` and ``stop`` (or as an async context)."""

    def __init__(self, clock: JobClock, interval_s: float = INTERVAL_S) -> None:
        if not 0 < interval_s <= 1:
            raise ValueError("interval_s must be in (0, 1] seconds")
        self.clock = clock
        self.interval_s = interval_s
        self.overshoots_s = array("d")
        """Every tick's raw overshoot, seconds (its lag is the part beyond the granularity)."""
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._stalls: list[float] = []
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    async def __aenter__(self) -> "LoopMonitor":
        self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start(self) -> None:
        self._arm()

    async def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self) -> None:
        """A bare timer callback, not a task: a tick then costs one handle, no coroutine step."""
        self._due = self.clock.now() + self.interval_s
        self._handle = asyncio.get_running_loop().call_later(self.interval_s, self._tick)

    def _tick(self) -> None:
        woke = self.clock.now()
        due = self._due
        overshoot = max(0.0, woke - due)
        self.overshoots_s.append(overshoot)
        if (lag := overshoot - SELECTOR_GRANULARITY_S) > 0.0:
            self._starts.append(due)
            self._ends.append(woke)
            self._stalls.append(lag)
        self._arm()

    def stall_between(self, start_s: float, end_s: float | None) -> float:
        """The longest stall overlapping [start_s, end_s] (seconds; 0.0 when none)."""
        if end_s is None or end_s < start_s:
            return 0.0
        first = bisect.bisect_left(self._ends, start_s)
        last = bisect.bisect_right(self._starts, end_s)
        return max(self._stalls[first:last], default=0.0)

    def lags_s(self) -> list[float]:
        """Every tick's lag: its overshoot beyond the selector's granularity, seconds."""
        return [max(0.0, overshoot - SELECTOR_GRANULARITY_S) for overshoot in self.overshoots_s]

    def p99_ms(self) -> float | None:
        return stats.percentile(self.lags_s(), 99) * 1000 if self.overshoots_s else None

    def max_ms(self) -> float | None:
        return max(self.lags_s()) * 1000 if self.overshoots_s else None
