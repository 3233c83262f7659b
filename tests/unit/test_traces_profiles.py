"""The seeded trace generator: the same inputs give the same bytes, every profile has the
documented shape, parameters are checked, pools never collide, and quick scaling shrinks
what it says it does."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from arena.common.traces import profiles
from arena.common.traces.errors import TraceError
from arena.common.traces.format import Session, Trace
from arena.common.traces.implied import implied_cache
from arena.common.traces.io import read_trace, write_trace
from arena.common.traces.params import PROFILES, output_ceiling, resolve_params
from arena.common.traces.profiles import POOL_BITS, generate, scale
from tests.conftest import REPO

GOLDEN = {
    "coding": "afe756d2e226f861b9a862a4cb17c3e7118d351a15ba83e5ce379dfd6dadf611",
    "chat": "bc5eabfa4c6680ecc8d622a86bc4f1f3d22b3fff98a566c4b40a4f13951ec97f",
    "rag": "e8ffd8a120c066883be9143b5ef99d3200a726ae6982ceb96778ff12858fd7a9",
}
"""SHA-256 of ``generate(profile, 6, seed=7)`` as written: a change to any distribution, to
the draw order or to the file format shows here (update deliberately, and say so)."""


def _bytes(trace: Trace, tmp_path: Path) -> bytes:
    path = tmp_path / "t.jsonl"
    write_trace(path, trace.header, trace.sessions)
    return path.read_bytes()


def _all(sessions: list[Session]) -> Iterator[Session]:
    for session in sessions:
        yield session
        for turn in session.turns:
            yield from _all(turn.subagents)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_same_seed_gives_the_same_bytes(profile: str, tmp_path: Path) -> None:
    made = _bytes(generate(profile, 6, 7), tmp_path)
    assert hashlib.sha256(made).hexdigest() == GOLDEN[profile]
    assert _bytes(generate(profile, 6, 8), tmp_path) != made


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_fewer_sessions_are_a_prefix_of_more(profile: str) -> None:
    assert generate(profile, 20, 3).sessions[:5] == generate(profile, 5, 3).sessions


def test_a_generated_trace_reads_back_with_its_parameters(tmp_path: Path) -> None:
    trace = generate("rag", 4, 1, {"docs_per_turn": 2})
    write_trace(tmp_path / "t.jsonl", trace.header, trace.sessions)
    assert read_trace(tmp_path / "t.jsonl") == trace
    assert trace.header.params["docs_per_turn"] == 2
    assert trace.header.params["doc_pool"] == PROFILES["rag"].params["doc_pool"].default
    assert (trace.header.profile, trace.header.seed) == ("rag", 1)


def test_the_shipped_example_is_what_its_command_makes() -> None:
    shipped = read_trace(REPO / "examples" / "traces" / "coding-small.jsonl")
    assert shipped == generate("coding", 8, 42)


def test_coding_has_the_published_shape() -> None:
    """AA-AgentPerf's shape: mean context near 27k, range up to 131k, answers with a median
    near 150, up to 200 turns; the bounds hold for these seeds (the draws are seeded)."""
    trace = generate("coding", 512, 11)
    requests = implied_cache(trace).requests
    context = np.array([r.prompt_tokens for r in requests])
    output = np.array([r.output_tokens for r in requests])
    assert 22_000 < context.mean() < 34_000
    assert context.min() >= 10_240
    assert context.max() <= 131_072
    assert 130 <= np.median(output) <= 170
    turns = [len(s.turns) for s in trace.sessions]
    assert max(turns) <= 200
    assert np.mean(turns) > 10
    thinks = [t.think_s for s in trace.sessions for t in s.turns[:-1]]
    assert 1.0 < float(np.median(thinks)) < 2.5
    assert all(s.turns[-1].think_s == 0 for s in _all(trace.sessions))
    spawning = [t for s in trace.sessions for t in s.turns if t.subagents]
    assert spawning
    assert all(2 <= len(t.subagents) <= 4 for t in spawning)
    children = [child for turn in spawning for child in turn.subagents]
    assert not any(turn.subagents for child in children for turn in child.turns)


def test_no_coding_request_passes_context_max_sub_agents_included() -> None:
    trace = generate("coding", 40, 1, {"context_max": 16384, "subagent_p": 0.3})
    requests = implied_cache(trace).requests
    assert max(r.prompt_tokens + r.output_tokens for r in requests) <= 16384
    assert any("." in r.session for r in requests)


def test_coding_shares_the_system_prompt_and_some_files() -> None:
    trace = generate("coding", 64, 5)
    assert len({tuple(s.system_blocks) for s in trace.sessions}) == 1
    assert len(trace.sessions[0].system_blocks) == 160
    first_files = [tuple(s.turns[0].blocks) for s in trace.sessions if s.turns[0].blocks]
    assert len(set(first_files)) < len(first_files)
    implied = implied_cache(trace)
    firsts = [r for r in implied.requests if r.turn == 0 and "." not in r.session]
    assert sum(r.cached_tokens for r in firsts[1:]) > 10_240 * (len(firsts) - 1)


def test_chat_and_rag_stay_within_their_bounds() -> None:
    chat = generate("chat", 200, 2)
    turns = [t for s in chat.sessions for t in s.turns]
    assert {len(s.turns) for s in chat.sessions} <= set(range(1, 9))
    assert min(t.input_tokens for t in turns) >= 50
    assert max(t.input_tokens for t in turns) <= 500
    assert 200 <= min(t.output_tokens for t in turns) <= max(t.output_tokens for t in turns) <= 800
    assert all(5 <= t.think_s <= 30 for s in chat.sessions for t in s.turns[:-1])
    rag = generate("rag", 200, 2)
    assert {len(s.turns) for s in rag.sessions} <= {1, 2, 3}
    assert all(len(t.blocks) == 3 * 8 for s in rag.sessions for t in s.turns)
    docs = [t.blocks[0] for s in rag.sessions for t in s.turns]
    assert len(set(docs)) < len(docs) / 2, "popular documents come back"


def test_pools_have_disjoint_id_ranges() -> None:
    pools = {
        profile: {
            block >> POOL_BITS
            for s in _all(generate(profile, 30, 4).sessions)
            for block in [*s.system_blocks, *(b for t in s.turns for b in t.blocks)]
        }
        for profile in PROFILES
    }
    assert pools == {"coding": {1, 2}, "chat": {3}, "rag": {4, 5}}


def test_arrival_rate_writes_poisson_arrivals() -> None:
    assert all(s.arrival_s is None for s in generate("chat", 5, 1).sessions)
    arrivals = [s.arrival_s or 0.0 for s in generate("chat", 400, 1, {"arrival_rate": 4}).sessions]
    assert arrivals[0] == 0
    assert arrivals == sorted(arrivals)
    assert 80 < arrivals[-1] < 120, "400 sessions at 4/s take about 100 s"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"turns": 3}, "unknown parameter(s) turns of trace profile 'chat' (known: "),
        ({"turns_max": 0}, "chat.turns_max must be in [1, 1000], got 0"),
        ({"turns_max": 2.5}, "chat.turns_max must be a whole number"),
        ({"turns_min": 5, "turns_max": 2}, "chat.turns_min (5) must not exceed turns_max (2)"),
    ],
)
def test_parameters_are_checked(params: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        resolve_params("chat", params)
    assert message in str(caught.value)


def test_unknown_profiles_and_bad_arguments_are_refused() -> None:
    with pytest.raises(
        ValueError, match=r"unknown trace profile 'agentic' \(known: chat, coding, rag\)"
    ):
        generate("agentic", 1, 0)
    with pytest.raises(ValueError, match="sessions must be in"):
        generate("chat", 0, 0)
    with pytest.raises(ValueError, match="seed must be 0 or more"):
        generate("chat", 1, -1)


def test_every_parameter_is_documented_as_the_code_defines_it() -> None:
    docs = (REPO / "docs" / "traces.md").read_text()
    for profile in PROFILES.values():
        for name, p in profile.params.items():
            whole = " (whole)" if p.integer else ""
            row = f"| `{name}` | {p.default:g} | {p.low:g}–{p.high:g}{whole} | {p.help} |"
            assert row in docs, row


def test_parameters_that_overflow_a_block_list_are_refused() -> None:
    with pytest.raises(ValueError, match=r"system_tokens makes 65,536 blocks of 1 tokens"):
        resolve_params("coding", {"block_size": 1, "system_tokens": 65536})
    with pytest.raises(ValueError, match=r"docs_per_turn × doc_tokens makes 32,768 blocks"):
        resolve_params("rag", {"docs_per_turn": 64, "doc_tokens": 32768})


def test_scale_shrinks_tokens_times_and_block_lists() -> None:
    trace = generate("coding", 6, 9, {"subagent_p": 0.5})
    small = scale(trace, 0.25)
    assert "quick ×0.25" in small.header.description
    for big, little in zip(_all(trace.sessions), _all(small.sessions), strict=True):
        expected = max(1, round(len(big.system_blocks) * 0.25)) if big.system_blocks else 0
        assert len(little.system_blocks) == expected
        assert little.system_blocks == big.system_blocks[: len(little.system_blocks)]
        for a, b in zip(big.turns, little.turns, strict=True):
            assert b.output_tokens == max(1, round(a.output_tokens * 0.25))
            assert b.input_tokens == max(1, round(a.input_tokens * 0.25))
            assert b.think_s == round(a.think_s * 0.25, 3)
            assert len(b.blocks) == (max(1, round(len(a.blocks) * 0.25)) if a.blocks else 0)
    assert scale(trace, 1) == trace
    with pytest.raises(ValueError, match=r"scale factor must be in \(0, 1\]"):
        scale(trace, 1.5)


@pytest.mark.parametrize(("profile", "ceiling"), [("coding", 4096), ("chat", 800), ("rag", 400)])
def test_the_output_ceiling_bounds_every_answer(profile: str, ceiling: int) -> None:
    assert output_ceiling(profile) == ceiling
    assert output_ceiling(profile, {"block_size": 16}) == ceiling
    trace = generate(profile, 100, 3)
    assert max(t.output_tokens for s in _all(trace.sessions) for t in s.turns) <= ceiling
    lower = (
        {"output_max": 50, "output_median": 20}
        if profile == "coding"
        else {"answer_tokens_min": 10, "answer_tokens_max": 50}
    )
    assert output_ceiling(profile, lower) == 50


@pytest.mark.parametrize(
    ("profile", "params"),
    [
        (
            "coding",
            {"context_max": 2048, "system_tokens": 512, "output_max": 256, "output_median": 200}
            | {"task_tokens_median": 50_000, "tool_tokens_max": 100_000, "context_file_p": 1},
        ),
        ("chat", {"context_max": 4096, "turns_min": 50, "turns_max": 200}),
        ("rag", {"context_max": 8192, "turns_min": 3, "docs_per_turn": 8, "doc_tokens": 4096}),
    ],
)
def test_no_request_passes_context_max_the_first_turn_included(
    profile: str, params: dict[str, float]
) -> None:
    trace = generate(profile, 30, 3, params)
    requests = implied_cache(trace).requests
    assert max(r.prompt_tokens + r.output_tokens for r in requests) <= params["context_max"]
    assert all(session.turns for session in trace.sessions)


@pytest.mark.parametrize(
    ("profile", "params", "message"),
    [
        ("coding", {"context_max": 8192, "output_max": 8192}, "leave no room for a turn"),
        ("rag", {"context_max": 4096, "corpus_tokens": 4096}, "leave no room for a turn"),
        (
            "coding",
            {"turns_max": 1000, "subagent_p": 1, "subagents_max": 32, "subagent_turns_max": 1000},
            "may make 31,969,000 requests",
        ),
        ("chat", {"turns_max": 1000, "think_max_s": 3600}, "think for at most 86,400 s"),
    ],
)
def test_parameters_that_could_pass_the_trace_caps_are_refused(
    profile: str, params: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        resolve_params(profile, params)
    assert message in str(caught.value)


def test_a_generated_trace_stops_at_the_trace_request_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles, "MAX_TRACE_REQUESTS", 20)
    with pytest.raises(TraceError, match="more than 20 turns"):
        generate("chat", 64, 1)
