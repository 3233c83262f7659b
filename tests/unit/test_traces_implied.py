"""The hit rate a trace implies, on hand-made traces whose numbers are worked out below."""

import pytest

from arena.common.traces.format import Session, Trace, TraceHeader, Turn
from arena.common.traces.implied import implied_cache
from arena.common.traces.mooncake import read_mooncake
from tests.conftest import REPO


def _two_sessions() -> Trace:
    """Block size 4. Session a: system [1, 2] (8 tokens), turn 0 adds 3 unique tokens and
    gets 5 back, turn 1 adds 2 and gets 1. Session b: the same system, 4 unique tokens.

    a/0: prompt 11 = blocks K1 K2 + 3 tokens; cache empty: 0 cached. Its answer makes the
         stream 16 tokens: K3 = 3 input + 1 answer token, K4 = 4 answer tokens.
    a/1: prompt 18, full blocks K1..K4. history engine: all 4 stored → 16 (≤ ⌊17/4⌋·4);
         history trace: the answer was never stored → K1 K2 only → 8.
    b/0: prompt 12 = K1 K2 + 4 unique: 8 cached (and 8 ≤ ⌊11/4⌋·4).
    engine: 24 of 41 tokens; trace: 16 of 41."""
    system = [1, 2]
    return Trace(
        header=TraceHeader(block_size=4),
        sessions=[
            Session(
                id="a",
                system_blocks=system,
                turns=[
                    Turn(input_tokens=3, output_tokens=5),
                    Turn(input_tokens=2, output_tokens=1),
                ],
            ),
            Session(id="b", system_blocks=system, turns=[Turn(input_tokens=4, output_tokens=2)]),
        ],
    )


def _cached(trace: Trace, **options: object) -> list[tuple[str, int, int, int]]:
    implied = implied_cache(trace, **options)  # type: ignore[arg-type]
    return [(r.session, r.turn, r.prompt_tokens, r.cached_tokens) for r in implied.requests]


def test_history_engine_reuses_answers_and_trace_does_not() -> None:
    trace = _two_sessions()
    assert _cached(trace) == [("a", 0, 11, 0), ("a", 1, 18, 16), ("b", 0, 12, 8)]
    assert _cached(trace, history="trace") == [("a", 0, 11, 0), ("a", 1, 18, 8), ("b", 0, 12, 8)]
    assert implied_cache(trace).hit_pct == pytest.approx(100 * 24 / 41)
    assert implied_cache(trace, history="trace").hit_pct == pytest.approx(100 * 16 / 41)


def test_an_lru_cache_too_small_for_the_stream_serves_nothing() -> None:
    """4 blocks hold a's whole stream: as unbounded. With 3, storing K1..K4 in order leaves
    K2 K3 K4, so every later lookup misses at K1 (and again after a/1 stores)."""
    trace = _two_sessions()
    assert implied_cache(trace, cache_blocks=4).cached_tokens == 24
    assert implied_cache(trace, cache_blocks=3).cached_tokens == 0
    assert implied_cache(trace, cache_blocks=2).cached_tokens == 0


def test_a_sub_agent_starts_from_its_parents_answer() -> None:
    """c/0: 8 unique tokens (K1 K2), nothing cached; its 4-token answer is K3. The sub-agent
    re-sends those 12 tokens plus 4 of its own: engine 3 blocks = 12 (cap ⌊15/4⌋·4 = 12);
    trace: the answer was not stored, 2 blocks = 8, but the second sub-agent finds what the
    first one's prompt stored: 12."""
    children = [Session(id=n, turns=[Turn(input_tokens=4, output_tokens=1)]) for n in "xy"]
    trace = Trace(
        header=TraceHeader(block_size=4),
        sessions=[
            Session(id="c", turns=[Turn(input_tokens=8, output_tokens=4, subagents=children)])
        ],
    )
    assert _cached(trace) == [("c", 0, 8, 0), ("c.1", 0, 16, 12), ("c.2", 0, 16, 12)]
    assert _cached(trace, history="trace") == [
        ("c", 0, 8, 0),
        ("c.1", 0, 16, 8),
        ("c.2", 0, 16, 12),
    ]


def test_a_fully_cached_prompt_recomputes_its_last_block_and_granularity_counts() -> None:
    """Two sessions of the same 2 blocks: the second finds both, keeps ⌊7/4⌋ = 1. With
    2-token cache blocks: ⌊7/2⌋·2 = 6."""
    same = [
        Session(id=n, system_blocks=[5, 6], turns=[Turn(input_tokens=0, output_tokens=1)])
        for n in "pq"
    ]
    trace = Trace(header=TraceHeader(block_size=4), sessions=same)
    assert [r.cached_tokens for r in implied_cache(trace).requests] == [0, 4]
    assert [r.cached_tokens for r in implied_cache(trace, cache_block_size=2).requests] == [0, 6]


def test_unique_text_never_matches_another_sessions() -> None:
    trace = Trace(
        header=TraceHeader(block_size=4),
        sessions=[Session(id=n, turns=[Turn(input_tokens=9, output_tokens=1)]) for n in "uv"],
    )
    assert implied_cache(trace).cached_tokens == 0


def test_the_mooncake_sample_as_docs_traces_md_works_it_out() -> None:
    trace = read_mooncake(REPO / "examples" / "traces" / "mooncake-sample.jsonl")
    implied = implied_cache(trace)
    assert [r.cached_tokens for r in implied.requests] == [
        0,
        1536,
        1024,
        0,
        2560,
        2048,
        0,
        1536,
        2560,
        1024,
    ]
    assert (implied.cached_tokens, implied.prompt_tokens) == (12288, 18668)
    assert implied.hit_pct == pytest.approx(65.82, abs=0.01)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="cache_blocks must be at least 1"):
        implied_cache(_two_sessions(), cache_blocks=0)


def test_lead_tokens_shift_the_blocks_for_every_session() -> None:
    """2 lead tokens before a's system [1, 2]: the stream is 2 + 8 + 3 = 13 tokens, full blocks
    [lead 2 + block 1's first 2] [1's last 2 + 2's first 2] [2's last 2 + 2 input]. b/0 (2 + 8 +
    4 = 14) shares the first two blocks: 8 cached. a/1 (2 + 16 + 2 = 20; engine) finds 4
    full blocks of a's 18-token stream after its answer: 16."""
    cached = [r.cached_tokens for r in implied_cache(_two_sessions(), lead_tokens=2).requests]
    assert cached == [0, 16, 8]
    with pytest.raises(ValueError, match="lead_tokens must be 0 or more"):
        implied_cache(_two_sessions(), lead_tokens=-1)
