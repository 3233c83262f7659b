"""Counting output tokens after a run, against an SSE server on 127.0.0.1 with word-per-token
``/tokenize`` (and, where asked, a slow or failing one): the end token of a stopped answer,
every count ended before the samples are handed on, a per-call limit that excludes queueing,
a tokenizer that decides before the run is judged, and no text kept where nothing counts it.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiohttp import web

from arena.agent.generator import tokens
from arena.agent.generator.client import (
    Answer,
    ChatRequest,
    Endpoint,
    Measurement,
    prepare,
    stream_chat,
)
from arena.agent.generator.clock import JobClock
from arena.agent.generator.context import RunContext
from arena.agent.generator.counting import count_answers
from arena.agent.generator.http import Connections
from arena.agent.generator.tokens import ServerOrApproximate, ServerTokenizer, Tokenizer
from arena.common.metrics.tokens import token_mismatch_pct
from arena.common.schemas.sample import RequestSample


def sse(payload: dict[str, Any] | str) -> bytes:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()


def delta(finish: str | None = None, **fields: Any) -> dict[str, Any]:
    """vLLM's shape: ``finish_reason`` after the delta, on the last token's chunk."""
    return {"choices": [{"index": 0, "delta": fields, "logprobs": None, "finish_reason": finish}]}


def llama_end(finish: str) -> dict[str, Any]:
    """llama.cpp's shape: ``finish_reason`` first, on a chunk with an empty delta."""
    return {"choices": [{"finish_reason": finish, "index": 0, "delta": {}}]}


def usage(tokens: int) -> dict[str, Any]:
    return {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": tokens}}


ROLE = delta(role="assistant", content="")
STREAMS: dict[str, list[bytes]] = {
    # three words streamed; the engine's usage also counts the end token it stopped at
    "vllm-stop": [sse(ROLE), sse(delta(content="one")), sse(delta(content=" two"))]
    + [sse(delta("stop", content=" three")), sse(usage(4)), sse("[DONE]")],
    "llama-stop": [sse(ROLE), *(sse(delta(content=w)) for w in ("one", " two", " three"))]
    + [sse(llama_end("stop")), sse(usage(4)), sse("[DONE]")],
    # cut at max_tokens: no end token, so one more in usage is a real mismatch
    "length": [sse(ROLE), *(sse(delta(content=w)) for w in ("one", " two", " three"))]
    + [sse(llama_end("length")), sse(usage(4)), sse("[DONE]")],
    "reasoned": [sse(ROLE), sse(delta(reasoning_content="hm")), sse(delta(content="yes"))]
    + [sse(usage(2)), sse("[DONE]")],
}


@dataclass
class Server:
    url: str
    delay_s: float = 0.0
    fail_on: str | None = None
    no_tokenizer: bool = False
    calls: int = 0
    answered: list[float] = field(default_factory=list)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server("")

    async def chat(request: web.Request) -> web.StreamResponse:
        model = (await request.json())["model"]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece in STREAMS[model]:
            await response.write(piece)
        await response.write_eof()
        return response

    async def tokenize(request: web.Request) -> web.Response:
        if state.no_tokenizer:
            raise web.HTTPNotFound()
        state.calls += 1
        text = (await request.json())["prompt"]
        if state.fail_on is not None and state.fail_on in text:
            raise web.HTTPInternalServerError()
        await asyncio.sleep(state.delay_s)
        state.answered.append(asyncio.get_running_loop().time())
        return web.json_response({"tokens": list(range(len(text.split())))})

    async def detokenize(request: web.Request) -> web.Response:
        if state.no_tokenizer:
            raise web.HTTPNotFound()
        return web.json_response({"content": "Arena"})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/tokenize", tokenize)
    app.router.add_post("/detokenize", detokenize)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


async def answered(
    url: str, model: str, keep_answer: bool = True
) -> tuple[RequestSample, Answer, Measurement]:
    request = prepare(Endpoint(url, model), ChatRequest([], 8), keep_answer=keep_answer)
    async with Connections(JobClock()) as connections:
        m = await stream_chat(connections, request)
    assert m.error is None, m.error
    return m.to_sample(benchmark="b", variant="v", run=0, index=0), m.answer(), m


@pytest.mark.parametrize("model", ["vllm-stop", "llama-stop"])
async def test_an_answer_stopped_at_its_end_token_is_no_mismatch(
    server: Server, model: str
) -> None:
    sample, answer, _ = await answered(server.url, model)
    assert answer.finish_reason == "stop"
    tokenizer = ServerTokenizer(Endpoint(server.url, model))
    try:
        await count_answers(tokenizer, [(sample, answer)])
    finally:
        await tokenizer.close()
    assert sample.counted_output_tokens == 4  # three words and the end token usage counted
    assert token_mismatch_pct([sample]) == 0.0


async def test_an_answer_cut_at_max_tokens_keeps_its_mismatch(server: Server) -> None:
    sample, answer, _ = await answered(server.url, "length")
    assert answer.finish_reason == "length"
    tokenizer = ServerTokenizer(Endpoint(server.url, "length"))
    try:
        await count_answers(tokenizer, [(sample, answer)])
    finally:
        await tokenizer.close()
    assert sample.counted_output_tokens == 3
    assert token_mismatch_pct([sample]) == pytest.approx(100 / 3)


class Watched:
    """A tokenizer that knows how many of its calls are still running."""

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.running = 0

    async def encode(self, text: str) -> list[int]:
        self.running += 1
        try:
            return await self.inner.encode(text)
        finally:
            self.running -= 1

    async def decode(self, ids: list[int]) -> str:
        return await self.inner.decode(ids)


async def test_a_failed_count_ends_every_other_call_before_it_returns(server: Server) -> None:
    sample, answer, _ = await answered(server.url, "vllm-stop")
    pairs = [(sample.model_copy(), answer) for _ in range(12)]
    pairs.insert(5, (sample.model_copy(), Answer("", "poison here")))
    server.delay_s, server.fail_on = 0.2, "poison"
    inner = ServerTokenizer(Endpoint(server.url, "m"))
    watched = Watched(inner)
    try:
        await count_answers(watched, pairs)
        assert watched.running == 0  # nothing left to finish later and touch the samples
        assert all(s.counted_output_tokens is None for s, _ in pairs)
        await asyncio.sleep(0.5)  # the calls cancelled do not come back to count later
        assert all(s.counted_output_tokens is None for s, _ in pairs)
    finally:
        await inner.close()


async def test_each_call_has_its_own_limit_not_the_queue_behind_it(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12 calls of 0.2 s through two connections take 1.2 s; each must get its 0.5 s."""
    monkeypatch.setattr(tokens, "CALL_TIMEOUT_S", 0.5)
    sample, answer, _ = await answered(server.url, "vllm-stop")
    pairs = [(sample.model_copy(), answer) for _ in range(12)]
    server.delay_s = 0.2
    tokenizer = ServerTokenizer(Endpoint(server.url, "m"))
    try:
        await count_answers(tokenizer, pairs)
    finally:
        await tokenizer.close()
    assert all(s.counted_output_tokens == 4 for s, _ in pairs)
    assert max(server.answered) - min(server.answered) > 0.8  # they did queue


def context(tokenizer: Tokenizer | None, sink: list[RequestSample]) -> RunContext:
    none = cast(Any, None)
    return RunContext(
        session=none,
        connections=none,
        endpoint=Endpoint("http://127.0.0.1:9", "m"),
        clock=JobClock(),
        sink=sink.append,
        progress=None,
        benchmark="b",
        total=1,
        tokenizer=tokenizer,
    )


@pytest.mark.parametrize("has_tokenizer", [True, False], ids=["route", "no-route"])
async def test_settle_waits_for_an_undecided_tokenizer_before_judging(
    server: Server, has_tokenizer: bool
) -> None:
    server.no_tokenizer = not has_tokenizer
    sample, answer, _ = await answered(server.url, "vllm-stop")
    tokenizer = ServerOrApproximate(Endpoint(server.url, "m"))
    handed: list[RequestSample] = []
    ctx = context(tokenizer, handed)
    try:
        assert ctx.keeps_answers  # undecided: the text is kept in case it is counted
        ctx.record(sample, answer)
        await ctx.settle()
    finally:
        await tokenizer.close()
    assert handed == [sample]
    if has_tokenizer:
        assert tokenizer.approximate is None and sample.counted_output_tokens == 4
    else:  # decided in settle: approximate, so nothing is counted against usage
        assert tokenizer.approximate is not None and sample.counted_output_tokens is None
        assert not ctx.keeps_answers


async def test_no_text_is_kept_where_nothing_will_count_it(server: Server) -> None:
    assert not context(None, []).keeps_answers
    sample, answer, m = await answered(server.url, "reasoned", keep_answer=False)
    assert m.reasoning == [] and m.content == []
    assert (answer.reasoning, answer.content) == ("", "")
    assert sample.reasoning_tokens == 1 and sample.first_content_s is not None
    kept_sample, kept, _ = await answered(server.url, "reasoned")
    assert (kept.reasoning, kept.content) == ("hm", "yes")
    assert kept_sample.reasoning_tokens == 1


class Bounds:
    def __init__(self) -> None:
        self.heard: list[str] = []

    async def started(self, variant: str, run: int) -> None:
        self.heard.append("started")

    async def finished(self, variant: str, run: int) -> None:
        self.heard.append("finished")


async def test_a_run_that_fails_still_tells_its_bounds_it_finished() -> None:
    ctx = context(None, [])
    ctx.bounds = bounds = Bounds()
    with pytest.raises(RuntimeError):
        async with ctx.measured_run("v", 0):
            raise RuntimeError("the run broke")
    assert bounds.heard == ["started", "finished"]
