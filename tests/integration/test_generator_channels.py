"""The reader tells reasoning from answer content and keeps both texts exactly, against an SSE
server on 127.0.0.1 that writes each stream one chunk at a time (one stream per model name).

The fast path slices a chunk's text out of its raw JSON without parsing it, so the texts here
are chosen to break a careless slicer: quotes, backslashes before quotes, unicode escapes, a
field name inside the text, both channels in one chunk, a usage that reports reasoning.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from arena.agent.generator.client import (
    ChatRequest,
    Endpoint,
    Measurement,
    escaped_text,
    prepare,
    stream_chat,
)
from arena.agent.generator.clock import JobClock
from arena.agent.generator.http import Connections

ROLE = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
USAGE = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 5}}
REASONED_USAGE = {
    "choices": [],
    "usage": {
        "prompt_tokens": 7,
        "completion_tokens": 5,
        "completion_tokens_details": {"reasoning_tokens": 3},
    },
}
TRICKY = ['say "hi"', "back\\slash\\", 'end\\"', "naïve ☃\n", '"content": "x"']


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


def sse(payload: dict[str, Any] | str, *, ascii_only: bool = True) -> bytes:
    body = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=ascii_only)
    return f"data: {body}\n\n".encode()


STREAMS: dict[str, list[bytes]] = {
    "thinking": [
        sse(ROLE),
        *(sse(delta(reasoning_content=w)) for w in ("a", "b", "c")),
        *(sse(delta(content=w)) for w in ("x", "y")),
        sse(USAGE),
        sse("[DONE]"),
    ],
    "switch": [  # vLLM's reasoning parser may close reasoning and open content in one delta
        sse(ROLE),
        sse(delta(reasoning="a")),
        sse(delta(reasoning="b", content="x")),
        sse(delta(content="y")),
        sse(REASONED_USAGE),
        sse("[DONE]"),
    ],
    "tricky": [
        sse(ROLE),
        *(sse(delta(reasoning=w)) for w in TRICKY[:2]),
        sse(delta(content=TRICKY[2])),
        sse(delta(content=TRICKY[3]), ascii_only=False),  # raw UTF-8, as llama.cpp writes
        sse(delta(content=TRICKY[4])),
        sse(USAGE),
        sse("[DONE]"),
    ],
    "tools": [
        sse(ROLE),
        sse(delta(reasoning_content="plan")),
        sse(delta(tool_calls=[{"index": 0, "function": {"name": "f", "arguments": "{}"}}])),
        sse(USAGE),
        sse("[DONE]"),
    ],
    "both_spellings": [  # a server that sends the reasoning under both names, same text
        sse(ROLE),
        sse(delta(reasoning_content="a", reasoning="a")),
        sse(delta(reasoning="b", reasoning_content="b")),
        sse(delta(content="x")),
        sse(USAGE),
        sse("[DONE]"),
    ],
}


async def chat(request: web.Request) -> web.StreamResponse:
    model = (await request.json())["model"]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for piece in STREAMS[model]:
        await response.write(piece)
        await asyncio.sleep(0.003)
    await response.write_eof()
    return response


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def measure(base_url: str, model: str, collect_text: bool = False) -> Measurement:
    chat_request = ChatRequest([{"role": "user", "content": "hi"}], 5, collect_text=collect_text)
    async with Connections(JobClock()) as connections:
        return await stream_chat(connections, prepare(Endpoint(base_url, model), chat_request))


@pytest.mark.parametrize("collect", [False, True], ids=["fast", "parsed"])
async def test_reasoning_then_content_gives_first_content_after_first_token(
    base_url: str, collect: bool
) -> None:
    m = await measure(base_url, "thinking", collect)
    sample = m.to_sample(benchmark="b", variant="v", run=0, index=0)
    assert sample.ok and len(sample.chunk_times_s) == 5
    assert sample.first_token_s == sample.chunk_times_s[0]
    assert sample.first_content_s == sample.chunk_times_s[3]
    assert sample.reasoning_tokens == 3  # one per reasoning chunk until the tokenizer counts
    answer = m.answer()
    assert (escaped_text(answer.reasoning), escaped_text(answer.content)) == ("abc", "xy")


async def test_both_channels_in_one_chunk_and_usage_reasoning_are_kept(base_url: str) -> None:
    m = await measure(base_url, "switch")
    sample = m.to_sample(benchmark="b", variant="v", run=0, index=0)
    assert sample.first_content_s == sample.chunk_times_s[1]
    assert sample.reasoning_tokens == 3  # the usage's, which the tokenizer will not replace
    answer = m.answer()
    assert answer.reasoning_counted_by_usage
    assert (escaped_text(answer.reasoning), escaped_text(answer.content)) == ("ab", "xy")


@pytest.mark.parametrize("collect", [False, True], ids=["fast", "parsed"])
async def test_quotes_backslashes_and_unicode_survive_the_fast_path(
    base_url: str, collect: bool
) -> None:
    m = await measure(base_url, "tricky", collect)
    assert m.error is None and len(m.chunk_times_s) == 5
    answer = m.answer()
    assert escaped_text(answer.reasoning) == "".join(TRICKY[:2])
    assert escaped_text(answer.content) == "".join(TRICKY[2:])


async def test_a_tool_call_is_answer_content_and_marks_the_text_incomplete(base_url: str) -> None:
    m = await measure(base_url, "tools")
    sample = m.to_sample(benchmark="b", variant="v", run=0, index=0)
    assert sample.first_content_s == sample.chunk_times_s[1] > sample.first_token_s  # type: ignore[operator]
    assert m.answer().tool_calls  # its arguments are not kept: not counted by the tokenizer


@pytest.mark.parametrize("collect", [False, True], ids=["fast", "parsed"])
async def test_reasoning_sent_under_both_names_is_kept_once(base_url: str, collect: bool) -> None:
    m = await measure(base_url, "both_spellings", collect)
    assert m.error is None and len(m.chunk_times_s) == 3
    assert escaped_text(m.answer().reasoning) == "ab"
    assert m.to_sample(benchmark="b", variant="v", run=0, index=0).reasoning_tokens == 2
