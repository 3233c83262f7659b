"""Session benchmarks' metrics against hand-computed values: three root sessions, one with two
sub-agents running in parallel, one cut short by an error, one slow to start."""

import pytest

from arena.common.metrics.derive import measured_variants, run_metrics, step_load, summary
from arena.common.metrics.sessions import (
    cache_hit_pct,
    is_first_turn,
    load_unit,
    session_run_metrics,
    turn_meets,
    turn_output_speed,
)
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import (
    ClosedLoopBenchmark,
    LoadSearch,
    OpenLoopBenchmark,
    SessionBenchmark,
    SloTier,
    TraceSource,
)
from arena.common.suites.variants import SessionVariant, variants

TIERS = [
    SloTier(name="fast", ttft_s=0.5, output_tokens_per_s=8),
    SloTier(name="slow", ttft_s=4.0, output_tokens_per_s=1),
]
BENCH = SessionBenchmark(id="agents", trace=TraceSource(profile="coding"), users=[2], slo=TIERS)


def turn(
    session: str,
    number: int,
    sent: float,
    chunks: list[float],
    prompt: int | None,
    cached: int | None,
    scheduled: float | None = None,
) -> RequestSample:
    return RequestSample(
        benchmark="agents",
        variant="u2",
        run=0,
        index=0,
        session=session,
        turn=number,
        scheduled_s=scheduled,
        sent_s=sent,
        first_token_s=chunks[0],
        end_s=chunks[-1],
        chunk_times_s=chunks,
        completion_tokens=len(chunks),
        prompt_tokens=prompt,
        cached_tokens=cached,
    )


FAILED = RequestSample(
    benchmark="agents",
    variant="u2",
    run=0,
    index=0,
    session="s1",
    turn=1,
    sent_s=2.0,
    end_s=2.1,
    error="HTTP 500",
)
SAMPLES = [
    # s0: two turns, then two sub-agents in parallel; every turn streams at 10 tok/s
    turn("s0", 0, 0.0, [0.2, 0.3, 0.4], 100, 0, scheduled=0.0),
    turn("s0", 1, 1.0, [1.1, 1.2, 1.3], 200, 100, scheduled=1.0),
    turn("s0.1", 0, 1.4, [1.7, 1.8], 150, 100),
    turn("s0.2", 0, 1.4, [1.6, 1.7, 1.8, 1.9], 150, 100),
    # s1: a slow first turn, then a failure ends it
    turn("s1", 0, 0.6, [1.6, 1.7], 100, 64, scheduled=0.5),
    FAILED,
    # s2: one turn, TTFT 3 s, its engine said nothing about the cache
    turn("s2", 0, 0.0, [3.0, 3.1], 50, None),
]


def test_one_run_of_a_step_by_hand() -> None:
    metrics = session_run_metrics(SAMPLES, BENCH, 2.0)
    expected = {
        "load": 2.0,
        "sessions": 3.0,
        "turns": 7.0,
        "completed": 6.0,
        "failed": 1.0,
        "output_throughput": 16 / 3.1,  # first dispatch 0.0 → last end 3.1
        "ttft_first_mean_ms": 1400.0,  # 0.2, 1.0, 3.0 s
        "ttft_first_p95_ms": 2800.0,  # linear: 1.0 + 0.9 × (3.0 − 1.0)
        "ttft_later_mean_ms": 200.0,  # 0.1, and the sub-agents' 0.3 and 0.2
        "ttft_later_p95_ms": 290.0,
        "ttft_turn_1_p50_ms": 1000.0,
        "ttft_turn_2_p50_ms": 100.0,  # sub-agents' turns are not root turns
        "ttft_turn_3_p50_ms": None,
        "ttft_turn_34up_p50_ms": None,
        # completed sessions only: s0 (0.0 → 1.9) and s2 (0.0 → 3.1)
        "session_time_mean_s": 2.5,
        "session_time_p95_s": 1.9 + 0.95 * 1.2,
        # s0: 12 tokens over 0.2 + 0.2 + 0.3 s generating (1.6–1.9 holds 1.7–1.8); s2: 2 / 0.1
        "session_output_tps_mean": (12 / 0.7 + 20) / 2,
        "cache_hit_pct": 100 * 364 / 700,  # s2 did not say: left out
        "slo_fast_pct": 100 / 3,  # s0 only
        "slo_slow_pct": 200 / 3,  # s0 and s2; s1 failed a turn
        # send lag of the turns with a due time: 0, 0 and s1's 100 ms (sent 0.6, due 0.5)
        "p50_send_lag_ms": 0.0,
        "p99_send_lag_ms": 98.0,  # linear: 0 + 0.98 × 100
        "client_saturated": 1.0,  # p99 over 1 ms
    }
    for key, value in expected.items():
        assert metrics[key] == (None if value is None else pytest.approx(value)), key


def test_first_turns_are_root_sessions_turn_zero() -> None:
    assert [is_first_turn(s) for s in SAMPLES] == [True, False, False, False, True, False, True]


def test_a_run_without_any_answer_has_no_latencies() -> None:
    metrics = session_run_metrics([FAILED], BENCH, 2.0)
    assert metrics["completed"] == 0 and metrics["failed"] == 1
    assert metrics["ttft_first_mean_ms"] is None and metrics["session_time_mean_s"] is None
    assert metrics["slo_fast_pct"] == 0.0 and metrics["cache_hit_pct"] is None


def test_cache_hit_rate_counts_only_samples_that_report_both() -> None:
    assert cache_hit_pct([]) is None
    assert cache_hit_pct([SAMPLES[-1]]) is None  # no cached count
    assert cache_hit_pct(SAMPLES[:2]) == pytest.approx(100 * 100 / 300)


def test_the_unit_of_the_load() -> None:
    trace = TraceSource(profile="chat")
    assert load_unit(BENCH) == "users"
    assert load_unit(SessionBenchmark(id="r", trace=trace, session_rate=[0.5])) == "sessions/s"
    search = LoadSearch(over="session_rate")
    assert load_unit(SessionBenchmark(id="s", trace=trace, search=search)) == "sessions/s"
    assert load_unit(SessionBenchmark(id="p", trace=trace, replay_timestamps=True)) is None


def test_session_steps_come_from_the_samples_in_load_order() -> None:
    found = measured_variants(BENCH, {"u16", "u2", "u4", "replay", "rate1"})
    assert found == [
        SessionVariant("u2", "users", 2.0),
        SessionVariant("u4", "users", 4.0),
        SessionVariant("u16", "users", 16.0),
        SessionVariant("replay", "replay", 0.0),
    ]  # a key of another form is no step
    assert [step_load(s) for s in found if isinstance(s, SessionVariant)] == [2, 4, 16, None]
    steps = run_metrics(BENCH, found[0], SAMPLES)
    assert run_metrics(BENCH, found[3], SAMPLES)["load"] is None
    assert steps == session_run_metrics(SAMPLES, BENCH, 2.0)
    other = [s.model_copy(update={"cached_tokens": None}) for s in SAMPLES]
    over_runs = summary(found[0], [SAMPLES, other], [steps, run_metrics(BENCH, found[0], other)])
    assert over_runs["sessions"].mean == 3 and over_runs["sessions"].n == 2
    assert over_runs["cache_hit_pct"].n == 1  # the second run's engine said nothing


def _single(cached: int | None) -> list[RequestSample]:
    return [
        RequestSample(
            benchmark="b",
            variant="v",
            run=0,
            index=i,
            scheduled_s=0.0,
            sent_s=0.0,
            first_response_s=0.1,
            first_token_s=0.1,
            end_s=0.3,
            chunk_times_s=[0.1, 0.2, 0.3],
            prompt_tokens=64,
            completion_tokens=3,
            cached_tokens=cached,
        )
        for i in range(2)
    ]


def test_closed_and_open_loop_runs_report_the_cache_hit_rate_when_the_engine_does() -> None:
    closed = ClosedLoopBenchmark(id="c", pp=[64], tg=[3], concurrency=[2])
    opened = OpenLoopBenchmark(
        id="o", input_len=64, output_len=3, num_prompts=2, request_rate=[1.0]
    )
    for bench in (closed, opened):
        [variant] = variants(bench)
        assert run_metrics(bench, variant, _single(16))["cache_hit_pct"] == 25.0
        assert "cache_hit_pct" not in run_metrics(bench, variant, _single(None))
        runs = [_single(16), _single(32)]
        per_run = [run_metrics(bench, variant, found) for found in runs]
        assert summary(variant, runs, per_run)["cache_hit_pct"].mean == 37.5


def test_an_answer_delivered_at_one_instant_is_judged_by_its_ttft_alone() -> None:
    # 300 tokens in one chunk: all arrived at the first token, before a 1000 tok/s stream
    # would have; the TTFT (the whole generation here) decides
    fast = SloTier(name="fast", ttft_s=1.0, output_tokens_per_s=1000)
    whole = turn("s0", 0, 0.0, [0.9], 100, 0).model_copy(update={"completion_tokens": 300})
    assert turn_output_speed(whole) is None and turn_meets(whole, fast)
    late = whole.model_copy(update={"first_token_s": 1.5, "chunk_times_s": [1.5], "end_s": 1.5})
    assert not turn_meets(late, fast)
    # streamed over time, the speed is measured and judged: 299 tokens over 1 s
    streamed = whole.model_copy(update={"chunk_times_s": [0.9, 1.9], "end_s": 1.9})
    assert turn_output_speed(streamed) == pytest.approx(299.0)
    assert not turn_meets(streamed, fast)
