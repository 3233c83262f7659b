"""The per-agent token bucket: a burst, then one call per 1/rate seconds, per key."""

import pytest

from arena.common.errors import RateLimitedError
from arena.controller.rpc.limits import RateLimiter


def test_a_burst_then_the_rate_and_a_delay_that_is_enough() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=4.0, burst=2, clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(RateLimitedError) as caught:
        limiter.check("a")
    assert caught.value.retry_after_s == pytest.approx(0.25)
    limiter.check("b")  # another agent is not held back
    now[0] += caught.value.retry_after_s
    limiter.check("a")
