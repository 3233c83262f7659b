"""Session benchmarks' measures that both sides need: whether a turn and a session met an SLO
tier, and the share of sessions that did (the agent's capacity search decides its next step
with it; the controller stores it per step).

A turn is one request sample of a session; sub-agents' turns belong to the root session that
spawned them (``RequestSample.root_session``). A turn's output speed is per-user speed,
(output tokens − 1) / (last − first output chunk); a one-token answer has no speed and meets
any speed target.
"""

from collections import defaultdict
from collections.abc import Iterable

from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import SloTier

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
    tokens = sample.completion_tokens or len(sample.chunk_times_s)
    span = sample.chunk_times_s[-1] - sample.chunk_times_s[0]
    if tokens < 2 or span <= 0:
        return None
    return (tokens - 1) / span


def turn_meets(sample: RequestSample, tier: SloTier) -> bool:
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
