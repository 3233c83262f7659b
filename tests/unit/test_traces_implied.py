"""The hit rate a trace implies, on hand-made traces whose numbers are worked out below."""

import pytest

from arena.common.traces.format import Session, Trace, TraceHeader, Turn
from arena.common.traces.implied import implied_cache
from arena.common.traces.mooncake import read_mooncake
from tests.conftest import REPO


def _two_sessions() -> Trace:
    """Block size 4. Session a: system [1, 2] (8 tokens), turn 0 adds 3 unique tokens and
    gets 5 back, turn 1 adds 2 and gets 1. Session b: the same system, 4 unique tokens.

    a/0: prompt 11 = blocks K1 K2 + 3 tokens; cache empty: 0 cached; K1 K2 inserted. Its
         answer done, prompt + 4 of its 5 tokens (the last has no KV yet) are inserted: 15
         tokens, K3 = 3 input + 1 answer token. The stream is then 16 tokens: K4 = 4 answer
         tokens, never inserted as it ends in the last one.
    a/1: prompt 18, full blocks K1..K4, ⌊17/4⌋ = 4 looked up. history engine: K1..K3 → 12;
         history trace: K3 holds synthesised text the engine never produced → K1 K2 → 8.
    b/0: prompt 12 = K1 K2 + 4 unique: ⌊11/4⌋ = 2 looked up, both found: 8.
    engine: 20 of 41 tokens; trace: 16 of 41."""
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
    assert _cached(trace) == [("a", 0, 11, 0), ("a", 1, 18, 12), ("b", 0, 12, 8)]
    assert _cached(trace, history="trace") == [("a", 0, 11, 0), ("a", 1, 18, 8), ("b", 0, 12, 8)]
    assert implied_cache(trace).hit_pct == pytest.approx(100 * 20 / 41)
    assert implied_cache(trace, history="trace").hit_pct == pytest.approx(100 * 16 / 41)


def test_an_lru_cache_keeps_a_conversations_head() -> None:
    """Inserting walks a chain from its last block to its first, so the head is the most
    recently used. LRU → MRU after a/0's answer: K3 K2 K1. With 4 blocks nothing is ever
    dropped: as unbounded. With 3, a/1 inserts K4 (K3 goes), K3 (K2 goes), K2 (K1 goes), K1
    (K4 goes): K1..K3 stay and b finds its 8. With 2, a/0's answer leaves K2 K1: a/1 finds 8,
    keeps K1 K2, and b finds 8. With 1, only K1 stays: 4 each."""
    trace = _two_sessions()
    expected = {4: [0, 12, 8], 3: [0, 12, 8], 2: [0, 8, 8], 1: [0, 4, 4]}
    for blocks, cached in expected.items():
        requests = implied_cache(trace, cache_blocks=blocks).requests
        assert [request.cached_tokens for request in requests] == cached, blocks


def test_a_sub_agent_starts_from_its_parents_answer() -> None:
    """c/0: 8 unique tokens (K1 K2), nothing cached; its answer's first 4 tokens are K3, its
    last one opens K4. A sub-agent re-sends those 13 tokens plus 4 of its own, ⌊16/4⌋ = 4
    blocks looked up: engine K1..K3 = 12; trace: K3 holds synthesised text, 8, but the second
    sub-agent finds what the first one's prompt inserted: 12."""
    children = [Session(id=n, turns=[Turn(input_tokens=4, output_tokens=1)]) for n in "xy"]
    trace = Trace(
        header=TraceHeader(block_size=4),
        sessions=[
            Session(id="c", turns=[Turn(input_tokens=8, output_tokens=5, subagents=children)])
        ],
    )
    assert _cached(trace) == [("c", 0, 8, 0), ("c.1", 0, 17, 12), ("c.2", 0, 17, 12)]
    assert _cached(trace, history="trace") == [
        ("c", 0, 8, 0),
        ("c.1", 0, 17, 8),
        ("c.2", 0, 17, 12),
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
    [lead 2 + block 1's first 2] [1's last 2 + 2's first 2] [2's last 2 + 2 input]. Its answer
    done, 13 + 4 = 17 tokens are inserted: a 4th block [input + 3 answer tokens]. a/1 (2 + 16
    + 2 = 20; engine) finds those 4 blocks: 16. b/0 (2 + 8 + 4 = 14) shares the first two: 8."""
    cached = [r.cached_tokens for r in implied_cache(_two_sessions(), lead_tokens=2).requests]
    assert cached == [0, 16, 8]


def test_the_session_marker_and_an_empty_message_count_as_the_generator_sends_them() -> None:
    """Marker 2 tokens after turn 0's blocks: a/0 = 8 + 2 + 3 = 13, b/0 = 8 + 2 + 4 = 14, whose
    third block [marker + 2 input] is b's own: 8 cached, as without a marker; a's second turn
    adds nothing: with ``empty_tokens`` 1 its prompt is 13 + 5 + 1 = 19 and it finds the 4
    blocks of a/0's prompt and answer less its last token: 16."""
    trace = _two_sessions()
    trace.sessions[0].turns[1] = Turn(input_tokens=0, output_tokens=1)
    options = {"marker_tokens": 2, "empty_tokens": 1}
    assert _cached(trace, **options) == [("a", 0, 13, 0), ("a", 1, 19, 16), ("b", 0, 14, 8)]
    assert _cached(trace, marker_tokens=2)[1] == ("a", 1, 18, 16)


@pytest.mark.parametrize("name", ["lead_tokens", "marker_tokens", "empty_tokens"])
def test_negative_generator_tokens_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be 0 or more"):
        implied_cache(_two_sessions(), **{name: -1})  # type: ignore[arg-type]
