"""Session benchmarks' measures that both sides need: whether a turn and a session met an SLO
tier, and the share of sessions that did (the agent's capacity search decides its next step
with it; the controller stores it per step).

A turn is one request sample of a session; sub-agents' turns belong to the root session that
spawned them (``RequestSample.root_session``). A turn's output speed is per-user speed,
(output tokens − 1) / (last − first output chunk). A tier's speed target only judges an answer
that streamed: one whose tokens all arrived in a single chunk (or in chunks at one instant)
met it, since every token reached the user at the first token's time, sooner than a stream at
any target speed would have brought it; its TTFT, which then spans the whole generation, is
what the tier judges (``turn_meets``).
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

from arena.common.metrics.client_load import RunClientFigures
from arena.common.metrics.tokens import output_tokens
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import SessionBenchmark, SloTier

TURN_BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    ("1", "ttft_turn_1_p50_ms", 1, 1),
    ("2", "ttft_turn_2_p50_ms", 2, 2),
    ("3", "ttft_turn_3_p50_ms", 3, 3),
    ("4–5", "ttft_turn_4_5_p50_ms", 4, 5),
    ("6–9", "ttft_turn_6_9_p50_ms", 6, 9),
    ("10–17", "ttft_turn_10_17_p50_ms", 10, 17),
    ("18–33", "ttft_turn_18_33_p50_ms", 18, 33),
    ("34+", "ttft_turn_34up_p50_ms", 34, None),
)
"""Median TTFT by turn number: (label, metric key, first turn, last turn or ``None`` for no
end), turns counted from 1. The buckets double in width so a 200-turn agent session and a
3-turn chat share one axis, and the context's growth shows as a slope."""


def turn_ttft_s(sample: RequestSample) -> float | None:
    if not sample.ok or sample.first_token_s is None:
        return None
    return sample.first_token_s - sample.sent_s


def turn_output_speed(sample: RequestSample) -> float | None:
    """Per-user output tokens per second of one turn; ``None`` when not measurable."""
    if not sample.ok or len(sample.chunk_times_s) < 2:
        return None
    tokens = output_tokens(sample)
    span = sample.chunk_times_s[-1] - sample.chunk_times_s[0]
    if tokens < 2 or span <= 0:
        return None
    return (tokens - 1) / span


def turn_meets(sample: RequestSample, tier: SloTier) -> bool:
    """TTFT within the tier and, where the answer streamed over time, per-user speed at least
    the tier's. An answer delivered at one instant (one token, or 300 in one chunk: servers
    that batch their stream, speculative decoding, a short tool call under a stream interval)
    has no speed to measure and meets the speed target: all of it arrived by the first token,
    before the last token's deadline at that speed. Failing it instead would count a fast,
    whole answer as too slow; the TTFT limit still catches a server that withheld it."""
    ttft = turn_ttft_s(sample)
    if ttft is None or ttft > tier.ttft_s:
        return False
    speed = turn_output_speed(sample)
    return speed is None or speed >= tier.output_tokens_per_s


def by_session(samples: Iterable[RequestSample]) -> dict[str, list[RequestSample]]:
    """Samples grouped by root session (samples without a session are left out)."""
    grouped: dict[str, list[RequestSample]] = defaultdict(list)
    for sample in samples:
        if (root := sample.root_session) is not None:
            grouped[root].append(sample)
    return dict(grouped)


def session_attainment(samples: Iterable[RequestSample], tier: SloTier) -> float | None:
    """Share (0..1) of sessions whose every turn met ``tier``; ``None`` without sessions."""
    sessions = by_session(samples)
    if not sessions:
        return None
    met = sum(all(turn_meets(s, tier) for s in turns) for turns in sessions.values())
    return met / len(sessions)


ATTAINMENT_SLACK = 1e-9
"""Float noise allowed below the target: 19 of 20 sessions is exactly 95 %."""


def step_attainment(attainments: Sequence[float | None]) -> float:
    """A load step's attainment: the mean over its runs of the share (0..1) of sessions
    meeting the tier, a run that judged no session counting as 0."""
    if not attainments:
        return 0.0
    return sum(value or 0.0 for value in attainments) / len(attainments)


def step_passes(attainments: Sequence[float | None], target: float) -> bool:
    """Whether a load step met its target (``step_attainment`` ≥ ``target``, within float
    noise): the one rule the agent's capacity search and the stored capacity both apply."""
    return bool(attainments) and step_attainment(attainments) >= target - ATTAINMENT_SLACK


def load_unit(bench: SessionBenchmark) -> Literal["users", "sessions/s"] | None:
    """What the benchmark's loads count; ``None`` for a replay of the trace's own arrivals."""
    over = bench.search.over if bench.search is not None else None
    if bench.users or over == "users":
        return "users"
    if bench.session_rate or over == "session_rate":
        return "sessions/s"
    return None


def is_first_turn(sample: RequestSample) -> bool:
    """Turn 0 of a root session: nothing of its conversation can be cached but a shared prefix
    (a sub-agent's first turn re-sends its parent's conversation, so it counts as later)."""
    return sample.turn == 0 and sample.session is not None and "." not in sample.session


def cache_hit_pct(samples: Iterable[RequestSample]) -> float | None:
    """Σ cached / Σ prompt tokens, in %, over the samples that report both; ``None`` when none
    does (an engine that never says is not an engine that never hits)."""
    cached = prompt = 0
    for sample in samples:
        if sample.cached_tokens is not None and sample.prompt_tokens is not None:
            cached += sample.cached_tokens
            prompt += sample.prompt_tokens
    return 100.0 * cached / prompt if prompt else None


def session_run_metrics(
    samples: Sequence[RequestSample],
    bench: SessionBenchmark,
    load: float | None,
    client_figures: RunClientFigures | None = None,
) -> dict[str, float | None]:
    """One run of one load step of a session benchmark, keyed as the catalogue says.

    - ``sessions``: root sessions with a sample; ``turns``: samples (sub-agents' included);
      ``completed``/``failed``: requests that did/did not get a first token without error
      (vLLM's rule, ``open_loop.succeeded``); ``output_throughput``: their output tokens over
      the run (first dispatch → last end, ``open_loop.run_duration_s``).
    - ``ttft_first_*``: turn 0 of root sessions (``is_first_turn``); ``ttft_later_*``: every
      other turn, sub-agents' turns included. Means and linear p95, in ms.
    - ``ttft_turn_*_p50_ms``: median TTFT of root sessions' turns in each ``TURN_BUCKETS``
      bucket (turns counted from 1).
    - Session time and speed are over *completed* sessions only (every turn, sub-agents' too,
      succeeded), so a session cut short by an error does not look fast.
      ``session_time_*``: first scheduled send (else send) → last end of the root session
      and its sub-agents. ``session_output_tps_mean``: a session's output tokens / the time it
      spent generating, the union of its turns' first token → last output chunk spans (so
      sub-agents running in parallel add up, think time does not count).
    - ``cache_hit_pct``: ``cache_hit_pct`` over the run's samples.
    - ``slo_<tier>_pct``: ``session_attainment`` of each of the benchmark's tiers, in %.
    - ``p50/p99_send_lag_ms``: the open loop's (``open_loop.client_side``), a turn's send lag
      measured from when it became due; the client's figures and ``client_saturated`` as
      ``client_verdict`` defines them.
    """
    from arena.common import stats  # NumPy: not for listings, which import the buckets
    from arena.common.metrics.catalogue import slo_key
    from arena.common.metrics.client_verdict import client_run_metrics, with_verdict
    from arena.common.metrics.open_loop import (
        client_side,
        run_duration_s,
        succeeded,
    )

    def distribution(values_s: list[float], prefix: str) -> dict[str, float | None]:
        ms = [value * 1000.0 for value in values_s]
        return {
            f"{prefix}_mean_ms": stats.mean(ms) if ms else None,
            f"{prefix}_p95_ms": stats.percentile(ms, 95) if ms else None,
        }

    done = [sample for sample in samples if succeeded(sample)]
    duration = run_duration_s(samples)
    output = sum(output_tokens(sample) for sample in done)
    sessions = by_session(samples)
    first = [ttft for s in done if is_first_turn(s) and (ttft := turn_ttft_s(s)) is not None]
    later = [ttft for s in done if not is_first_turn(s) and (ttft := turn_ttft_s(s)) is not None]
    metrics: dict[str, float | None] = {
        "load": load,
        "sessions": float(len(sessions)),
        "turns": float(len(samples)),
        "completed": float(len(done)),
        "failed": float(len(samples) - len(done)),
        "output_throughput": output / duration if duration else None,
        **distribution(first, "ttft_first"),
        **distribution(later, "ttft_later"),
    }
    root_turns = [s for s in done if s.session is not None and "." not in s.session]
    for _label, key, low, high in TURN_BUCKETS:
        in_bucket = [
            ttft
            for s in root_turns
            if s.turn is not None
            and low <= s.turn + 1 <= (high if high is not None else math.inf)
            and (ttft := turn_ttft_s(s)) is not None
        ]
        metrics[key] = stats.median(in_bucket) * 1000.0 if in_bucket else None
    completed = [turns for turns in sessions.values() if all(succeeded(s) for s in turns)]
    times = [time for turns in completed if (time := run_duration_s(turns)) is not None]
    speeds = [
        sum(output_tokens(s) for s in turns) / generating
        for turns in completed
        if (generating := _generating_s(turns)) > 0
    ]
    metrics |= {
        "session_time_mean_s": stats.mean(times) if times else None,
        "session_time_p95_s": stats.percentile(times, 95) if times else None,
        "session_output_tps_mean": stats.mean(speeds) if speeds else None,
        "cache_hit_pct": cache_hit_pct(samples),
    }
    lag = client_side(samples)
    metrics["p50_send_lag_ms"] = lag["p50_send_lag_ms"]
    metrics["p99_send_lag_ms"] = lag["p99_send_lag_ms"]
    metrics |= client_run_metrics(samples, client_figures)
    with_verdict(metrics)
    for tier in bench.slo:
        attained = session_attainment(samples, tier)
        metrics[slo_key(tier.name)] = None if attained is None else attained * 100.0
    return metrics


def _generating_s(turns: Sequence[RequestSample]) -> float:
    """Length of the union of the turns' first token → last output chunk spans."""
    spans = sorted(
        (s.first_token_s, s.chunk_times_s[-1] if s.chunk_times_s else s.end_s)
        for s in turns
        if s.first_token_s is not None and s.end_s is not None
    )
    total = 0.0
    reach = -math.inf
    for start, end in spans:
        assert end is not None
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total
