"""The probes before measuring, against a real server that answers a non-streaming request
with something other than a chat completion (an SSE stream, HTML): the job gets a reason that
names what came back, never a bare ``JSONDecodeError``."""

import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from arena.agent.engines.probe import engine_figures, sanity_generation
from arena.agent.generator.client import Endpoint, open_session
from arena.agent.generator.clock import JobClock
from arena.agent.generator.closed_loop import template_overhead
from arena.agent.generator.context import RunContext
from arena.agent.generator.http import Connections
from arena.common.errors import EngineError

STREAM = (
    'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
    'data: {"choices":[{"delta":{"content":"Paris"}}]}\n\n'
    "data: [DONE]\n\n"
)


@contextlib.asynccontextmanager
async def answering(body: str, content_type: str = "text/event-stream") -> AsyncIterator[str]:
    """A server whose /v1/chat/completions always sends ``body``, whatever it was asked."""

    async def chat(_: web.Request) -> web.Response:
        return web.Response(text=body, content_type=content_type)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_streamed_answer_to_the_sanity_request_is_folded_into_one() -> None:
    """Some servers and gateways stream whatever they are asked: the answer still counts."""
    async with answering(STREAM) as url:
        sanity = await sanity_generation(url, "m", None)
    assert (sanity["answer"], sanity["streamed"]) == ("Paris", True)


async def test_a_streamed_answer_in_vllms_reasoning_field_is_folded_too() -> None:
    """Newer vLLM streams a reasoning model's thinking as ``reasoning``, not
    ``reasoning_content``: the sanity answer shows it instead of nothing."""
    stream = (
        'data: {"choices":[{"delta":{"reasoning":"The capital"}}]}\n\n'
        'data: {"choices":[{"delta":{"reasoning":" is Paris"}}]}\n\n'
        "data: [DONE]\n\n"
    )
    async with answering(stream) as url:
        sanity = await sanity_generation(url, "m", None)
    assert sanity["answer"] == "The capital is Paris"
    body = '{"choices":[{"message":{"content":null,"reasoning":"Paris"}}]}'
    async with answering(body, "application/json") as url:
        assert (await sanity_generation(url, "m", None))["answer"] == "Paris"


async def test_an_answer_that_is_neither_json_nor_a_stream_is_a_clear_reason() -> None:
    async with answering("<html>gateway</html>") as url:
        with pytest.raises(EngineError) as caught:
            await sanity_generation(url, "m", None)
    assert str(caught.value).startswith(
        "sanity generation failed: the answer to a non-streaming request was not JSON: "
        "first bytes '<html>"
    )


async def test_json_that_is_no_chat_completion_is_a_clear_reason() -> None:
    async with answering('{"detail": "ok"}', "application/json") as url:
        with pytest.raises(EngineError, match=r"no choices\[0\]\.message"):
            await sanity_generation(url, "m", None)
    async with answering("[1, 2]", "application/json") as url:
        with pytest.raises(EngineError, match="JSON but not an object"):
            await sanity_generation(url, "m", None)


async def test_a_proper_answer_is_recorded() -> None:
    body = '{"choices":[{"message":{"content":"Paris"}}],"usage":{"completion_tokens":1}}'
    async with answering(body, "application/json") as url:
        sanity = await sanity_generation(url, "m", None)
    assert sanity["answer"] == "Paris" and sanity["completion_tokens"] == 1


class CharTokenizer:
    """One token a character: enough for the probe's own arithmetic."""

    async def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]


async def test_a_streamed_answer_to_the_template_probe_leaves_prompts_and_a_note() -> None:
    notes: list[str] = []
    async with (
        answering(STREAM) as url,
        open_session() as session,
        Connections(JobClock()) as connections,
    ):
        ctx = RunContext(
            session=session,
            connections=connections,
            endpoint=Endpoint(url, "m"),
            clock=JobClock(),
            sink=lambda _: None,
            progress=None,
            benchmark="01-chat",
            total=0,
            note=notes.append,
        )
        overhead = await template_overhead(ctx, CharTokenizer())  # type: ignore[arg-type]
    assert overhead == (0, 0)
    (note,) = notes
    assert note.startswith(
        "01-chat: prompts not adapted to the chat template: chat template probe failed: the "
        "answer to a non-streaming request was not JSON: first bytes 'data: {"
    )


def test_speculative_decoding_counters_become_acceptance_figures() -> None:
    before = {
        "vllm:spec_decode_num_drafts_total": 10.0,
        "vllm:spec_decode_num_draft_tokens_total": 30.0,
        "vllm:spec_decode_num_accepted_tokens_total": 15.0,
    }
    after = {
        "vllm:spec_decode_num_drafts_total": 110.0,
        "vllm:spec_decode_num_draft_tokens_total": 330.0,
        "vllm:spec_decode_num_accepted_tokens_total": 195.0,
    }
    figures = engine_figures(before, after)
    assert figures["spec_decode_num_drafts"] == 100
    assert figures["spec_decode_draft_tokens"] == 300
    assert figures["spec_decode_accepted_tokens"] == 180
    assert figures["spec_decode_acceptance_rate"] == pytest.approx(60.0)
    assert figures["spec_decode_acceptance_length"] == pytest.approx(2.8)
