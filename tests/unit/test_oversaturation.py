"""The over-saturation detector on synthetic runs: a queueing server fed below and above what
it completes, bursts, a run too short to judge."""

import random

from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.oversaturation import oversaturated, t_975, trends
from arena.common.schemas.sample import RequestSample


def served(
    arrivals: list[float], slots: int, service_s: float, prefill_s: float = 0.05
) -> list[RequestSample]:
    """Requests a server with ``slots`` parallel slots serves first come, first served, each
    taking ``service_s`` (its first token ``prefill_s`` after it starts)."""
    free = [0.0] * slots
    samples = []
    for index, arrival in enumerate(arrivals):
        slot = min(range(slots), key=lambda i: free[i])
        start = max(arrival, free[slot])
        end = start + service_s
        free[slot] = end
        samples.append(
            RequestSample(
                benchmark="sweep",
                variant="rate1",
                run=0,
                index=index,
                scheduled_s=arrival,
                sent_s=arrival,
                first_token_s=start + prefill_s,
                end_s=end,
                chunk_times_s=[start + prefill_s, end],
                completion_tokens=2,
            )
        )
    return samples


def poisson(rate: float, seconds: float, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    times, now = [], 0.0
    while (now := now + rng.expovariate(rate)) < seconds:
        times.append(now)
    return times


def test_a_rate_above_what_the_server_completes_is_oversaturated() -> None:
    # 2 slots × 1 request/s each = 2 req/s; 4 req/s arrive for 30 s
    samples = served(poisson(4.0, 30.0), slots=2, service_s=1.0)
    assert oversaturated(samples) is True
    flight, waits = trends(samples)
    assert flight is not None and waits is not None
    assert flight.slope > 1.0  # about 2 more requests in flight every second
    assert waits.end > 2 * waits.start


def test_a_rate_well_below_capacity_is_not() -> None:
    for seed in range(20):
        samples = served(poisson(1.0, 30.0, seed), slots=2, service_s=1.0)
        assert oversaturated(samples) is False, seed


def test_a_rate_just_below_capacity_is_not() -> None:
    samples = served([i * 0.55 for i in range(60)], slots=2, service_s=1.0)
    assert oversaturated(samples) is False


def test_a_burst_has_no_arrival_span_to_judge() -> None:
    # every request at t=0 (rate inf): no rate was offered, so no steady state is expected
    assert oversaturated(served([0.0] * 40, slots=2, service_s=0.5)) is None


def test_the_client_queue_counts_even_when_a_gate_holds_sends_back() -> None:
    # max_concurrency = 2 on the client: sends wait for a free slot, so TTFT from the send is
    # flat; from the arrival it grows, as the backlog does
    samples = served([i * 0.25 for i in range(120)], slots=2, service_s=1.0)
    gated = [s.model_copy(update={"sent_s": (s.first_token_s or 0.0) - 0.05}) for s in samples]
    assert oversaturated(gated) is True


def test_too_short_a_run_judges_nothing() -> None:
    assert oversaturated(served([i * 0.25 for i in range(16)], slots=1, service_s=1.0)) is None
    assert oversaturated([]) is None


def test_the_metric_is_one_zero_or_absent() -> None:
    assert open_loop_metrics(served(poisson(4.0, 30.0), 2, 1.0))["oversaturated"] == 1.0
    assert open_loop_metrics(served(poisson(1.0, 30.0), 2, 1.0))["oversaturated"] == 0.0
    assert open_loop_metrics(served([0.0, 0.1], 2, 1.0))["oversaturated"] is None


def test_t_quantiles_take_the_stricter_row_between_rows() -> None:
    assert t_975(3) == 3.182
    assert t_975(9) == 2.306
    assert t_975(500) == 1.98
