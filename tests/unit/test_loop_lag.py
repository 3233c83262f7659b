"""Loop lag is the timer overshoot beyond the selector's granularity: asyncio's epoll wait
rounds its timeout up to whole milliseconds, so a tick on a loop that is not stalled fires up
to 1 ms late; only what lies past that is the client's lag (and a read stall)."""

import pytest

from arena.agent.generator.clock import JobClock
from arena.agent.generator.loop_lag import SELECTOR_GRANULARITY_S, LoopMonitor
from arena.agent.headroom import LAG_LIMIT_MS
from arena.common.metrics.client_verdict import LIMITS, limit_of


class StoppedClock(JobClock):
    """A clock the test sets: each tick reads the time the test says it woke."""

    def __init__(self) -> None:
        super().__init__()
        self.at = 0.0

    def now(self) -> float:
        return self.at


async def test_an_overshoot_within_the_selectors_granularity_is_no_lag() -> None:
    clock = StoppedClock()
    monitor = LoopMonitor(clock)
    monitor.start()
    try:
        wakes = [0.0009, 0.0004, 0.0, 0.003, 0.0001]  # late by: rounding, rounding, none, 3 ms
        dues = []
        for late in wakes:
            dues.append(monitor._due)
            clock.at = dues[-1] + late
            monitor._tick()
    finally:
        await monitor.stop()
    assert list(monitor.overshoots_s) == pytest.approx(wakes, abs=1e-12)
    lags = [0.0, 0.0, 0.0, 0.003 - SELECTOR_GRANULARITY_S, 0.0]
    assert monitor.lags_s() == pytest.approx(lags, abs=1e-12)
    assert monitor.max_ms() == pytest.approx(2.0)
    # only the 3 ms wake-up is a stall a request can have waited behind, by its 2 ms past
    assert monitor.stall_between(dues[3], dues[3] + 0.001) == pytest.approx(0.002)
    assert monitor.stall_between(0.0, dues[3] - 0.0001) == 0.0


def test_the_headroom_search_uses_the_verdicts_limit() -> None:
    assert LAG_LIMIT_MS == limit_of("loop_lag_p99_ms") == limit_of("p99_send_lag_ms")
    assert {limit.key for limit in LIMITS} >= {"read_stall_ttft_p99_pct", "loop_lag_p99_ms"}
