"""The capacity search's policy and the session text synthesis, without an engine."""

import asyncio
import dataclasses
import json
from collections.abc import Callable
from typing import Any, Literal, cast

import pytest

from arena.agent.generator.client import (
    ChatRequest,
    Endpoint,
    Measurement,
    encode_message,
    prepare,
    prepare_encoded,
)
from arena.agent.generator.clock import JobClock
from arena.agent.generator.context import RunContext
from arena.agent.generator.sessions.loads import SessionFeed, replay_starts
from arena.agent.generator.sessions.search import CapacitySearch
from arena.agent.generator.sessions.session import Step
from arena.agent.generator.sessions.synth import Synthesiser
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import LoadSearch, SessionBenchmark
from arena.common.suites.variants import session_variant, session_variant_allowed
from arena.common.traces.format import Session, Turn


def search_path(search: LoadSearch, passes: Callable[[float], bool]) -> list[tuple[float, bool]]:
    policy = CapacitySearch(search)
    while (load := policy.next_load()) is not None:
        policy.record(load, passes(load))
    return policy.steps


def test_users_bracket_by_doubling_then_bisect_to_one_user() -> None:
    steps = search_path(LoadSearch(start=1, max=64), lambda users: users <= 11)
    assert steps == [
        (1, True),
        (2, True),
        (4, True),
        (8, True),
        (16, False),
        (12, False),
        (10, True),
        (11, True),
    ]


def test_the_bracket_stops_at_max_when_every_step_passes() -> None:
    steps = search_path(LoadSearch(start=3, max=20), lambda users: True)
    assert steps == [(3, True), (6, True), (12, True), (20, True)]


def test_a_failing_first_step_ends_the_search() -> None:
    assert search_path(LoadSearch(start=4), lambda users: False) == [(4, False)]


def test_max_steps_bounds_the_search() -> None:
    steps = search_path(LoadSearch(start=1, max=1000, max_steps=5), lambda users: users < 300)
    assert [load for load, _ in steps] == [1, 2, 4, 8, 16]


def test_rates_bisect_to_the_resolution() -> None:
    search = LoadSearch(over="session_rate", start=0.5, max=8, resolution=0.1, max_steps=32)
    steps = search_path(search, lambda rate: rate <= 1.3)
    loads = [load for load, _ in steps]
    assert loads[:4] == [0.5, 1.0, 2.0, 1.5]
    passing = max(load for load, ok in steps if ok)
    failing = min(load for load, ok in steps if not ok)
    assert failing - passing <= 0.1 and passing <= 1.3 < failing
    assert all(load == float(f"{load:.4g}") for load in loads)


@pytest.mark.parametrize(
    ("over", "start", "maximum"),
    [("session_rate", 0.5, 2 / 0.3), ("session_rate", 0.1, 0.99999), ("session_rate", 3, 9.9999)],
)
def test_search_keys_never_exceed_max(
    over: Literal["users", "session_rate"], start: float, maximum: float
) -> None:
    search = LoadSearch(over=over, start=start, max=maximum, resolution=0.01, max_steps=32)
    bench = SessionBenchmark(id="b", trace={"profile": "chat"}, search=search)
    steps = search_path(search, lambda load: True)
    assert steps[-1][0] <= maximum
    for load, _ in search_path(search, lambda load: load < maximum * 0.77) + steps:
        assert load <= maximum
        assert session_variant_allowed(bench, session_variant(over, load).key)


class WordTokenizer:
    """Ids are word positions in a fixed list: decode is exact, and every call is counted."""

    def __init__(self) -> None:
        self.decodes = 0

    async def encode(self, text: str) -> list[int]:
        return [len(word) for word in text.split()]

    async def decode(self, ids: list[int]) -> str:
        self.decodes += 1
        return " ".join(f"w{i}" for i in ids)


async def test_equal_block_ids_give_equal_text_decoded_once() -> None:
    tokenizer = WordTokenizer()
    synth = Synthesiser(tokenizer, list(range(1000)), seed=3, block_size=16)
    first = await synth.blocks([5, 2**62])
    assert first == await synth.blocks([5, 2**62])
    assert tokenizer.decodes == 2
    assert [len(part.split()) for part in first.split("\n")] == [16, 16]
    other_seed = Synthesiser(tokenizer, list(range(1000)), seed=4, block_size=16)
    assert await other_seed.blocks([5]) != first.split("\n")[0]
    own = await synth.user_input("0", 1, 40)
    assert len(own.split()) == 40 and own != await synth.user_input("1", 1, 40)
    assert own != await synth.answer("0", 1, 40)
    assert await synth.user_input("0", 2, 0) == ""


async def test_the_text_cache_is_bounded_and_keeps_what_is_used() -> None:
    tokenizer = WordTokenizer()
    synth = Synthesiser(tokenizer, list(range(1000)), seed=3, block_size=16, cache_chars=300)
    shared = await synth.blocks([1])
    for turn in range(20):
        await synth.user_input("0", turn, 16)  # ~80 characters each
        assert await synth.blocks([1]) == shared  # used every time: stays cached
    assert tokenizer.decodes == 21
    assert sum(len(text) for text in synth._texts.values()) <= 300
    await synth.user_input("0", 0, 16)  # evicted long ago: decoded again, the same text
    assert tokenizer.decodes == 22


async def test_concurrent_asks_for_one_text_decode_it_once() -> None:
    tokenizer = WordTokenizer()
    synth = Synthesiser(tokenizer, list(range(1000)), seed=3, block_size=16)
    texts = await asyncio.gather(*(synth.user_input("7", 1, 30) for _ in range(5)))
    assert len(set(texts)) == 1 and tokenizer.decodes == 1


def test_a_step_keeps_met_flags_and_only_the_samples_waiting_to_be_counted() -> None:
    """A replay of millions of turns must not hold its samples (7 KB each) to judge them: only
    those the context holds for counting anyway wait (``unjudged``) until ``attainment``."""
    kept = {field.name: field.type for field in dataclasses.fields(Step)}
    assert "samples" not in kept
    assert [name for name, kind in kept.items() if "RequestSample" in str(kind)] == ["unjudged"]


def test_feed_starts_over_and_replay_needs_arrival_times() -> None:
    sessions = [Session(id=n, turns=[Turn(input_tokens=1, output_tokens=1)]) for n in "ab"]
    feed = SessionFeed(sessions)
    assert [feed.take()[1] for _ in range(5)] == ["0", "1", "0", "1", "0"]
    with pytest.raises(ValueError, match="session 'a' \\(#1\\) has no arrival_s"):
        replay_starts(sessions)
    timed = [
        s.model_copy(update={"arrival_s": t}) for s, t in zip(sessions, (2.0, 1.0), strict=True)
    ]
    assert [(start.offset_s, start.path) for start in replay_starts(timed)] == [
        (1.0, "1"),
        (2.0, "0"),
    ]


@pytest.mark.parametrize("model", ["m", 'odd "messages": null model'])
def test_a_request_of_encoded_messages_is_the_same_request(model: str) -> None:
    messages = [
        {"role": "system", "content": "salt\nshared"},
        {"role": "user", "content": 'quotes " and \\ and ünïcode'},
        {"role": "assistant", "content": "an answer"},
    ]
    endpoint = Endpoint("http://127.0.0.1:9", model)
    request = ChatRequest(messages, 7, ignore_eos=True, cache_salt="k-s0-1")
    whole = prepare(endpoint, request)
    encoded = [encode_message(m["role"], m["content"]) for m in messages]
    joined = prepare_encoded(
        endpoint, ChatRequest([], 7, ignore_eos=True, cache_salt="k-s0-1"), encoded
    )
    assert json.loads(body(joined.data)) == json.loads(body(whole.data))
    assert joined.max_tokens == 7


def body(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[1]


class WordCounter:
    """One token per word: an exact tokenizer for the step's counted turns."""

    async def encode(self, text: str) -> list[int]:
        return list(range(len(text.split())))

    async def decode(self, ids: list[int]) -> str:
        return " ".join("w" for _ in ids)


@pytest.mark.parametrize("counts", [True, False], ids=["counted", "usage"])
async def test_a_steps_attainment_judges_the_settled_output_tokens(counts: bool) -> None:
    """Usage says 2 tokens over 0.1 s (10 t/s, under the tier's 50); the stream held 11 words
    (100 t/s). Judged after settle, on the counted 11, as the controller judges it; with
    nothing to count, on usage, and the step holds no sample."""
    handed: list[RequestSample] = []
    ctx = RunContext(
        session=cast(Any, None),
        connections=cast(Any, None),
        endpoint=Endpoint("http://127.0.0.1:9", "m"),
        clock=JobClock(),
        sink=handed.append,
        progress=None,
        benchmark="b",
        total=1,
        tokenizer=WordCounter() if counts else None,
    )
    tier = {"name": "fast", "ttft_s": 1.0, "output_tokens_per_s": 50.0}
    bench = SessionBenchmark(id="b", trace={"profile": "chat"}, users=[1], slo=[tier])
    step = Step(ctx, bench, cast(Any, None), "u1", 0, "salt")
    m = Measurement(sent_s=0.0, first_token_s=0.01, end_s=0.11, completion_tokens=2)
    m.chunk_times_s = [0.01, 0.11]
    m.content = ["a b c d e f g h i j k"]
    step.record(m, "s0", 0, 0.0, 16)
    assert bool(step.unjudged) is counts
    await ctx.settle()
    assert handed and handed[0].counted_output_tokens == (11 if counts else None)
    assert step.attainment() == (1.0 if counts else 0.0)
    assert not step.unjudged
