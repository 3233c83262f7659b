"""The client against a deliberately awkward SSE server on 127.0.0.1, one quirk per model name.

Every stream starts with a role-only chunk (which must not count as the first token) and,
unless the quirk is about the ending, finishes with usage in a chunk with empty choices and
``[DONE]``. Writes are separated by short sleeps so they reach the client as separate reads.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from arena.agent.generator.client import (
    ChatRequest,
    Endpoint,
    Measurement,
    build_payload,
    prepare,
    stream_chat,
)
from arena.agent.generator.clock import JobClock
from arena.agent.generator.http import Connections
from arena.common.schemas.sample import RequestSample

Render = Callable[[dict[str, Any]], bytes]
ROLE = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
USAGE = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}
CACHED_USAGE = {
    "choices": [],
    "usage": {
        "prompt_tokens": 7,
        "completion_tokens": 3,
        "prompt_tokens_details": {"cached_tokens": 5},
    },
}


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


def sse(payload: dict[str, Any] | str, *, space: bool = True, eol: str = "\n") -> bytes:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data:{' ' if space else ''}{body}{eol}{eol}".encode()


def standard(render: Render = sse, words: tuple[str, ...] = ("a", "b", "c")) -> list[bytes]:
    return [
        render(ROLE),
        *(render(delta(content=w)) for w in words),
        render(USAGE),
        render("[DONE]"),  # type: ignore[arg-type]
    ]


def tool_call(index: int) -> dict[str, Any]:
    call: dict[str, Any] = {"index": 0, "function": {"arguments": f'{{"x": {index}}}'}}
    if index == 0:
        call |= {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}
    return delta(tool_calls=[call])


def nospace(payload: Any) -> bytes:
    return sse(payload, space=False)


def crlf(payload: Any) -> bytes:
    return sse(payload, eol="\r\n")


STREAMS: dict[str, list[bytes]] = {
    "plain": standard(),
    "bytewise": [bytes([b]) for b in b"".join(standard())],
    "merged": [b"".join(standard())],
    "nospace": standard(nospace),
    "crlf": standard(crlf),
    "comments": [
        b": keep-alive\n\n",
        b"event: message\nid: 1\nretry: 10\n" + sse(ROLE),
        b":ping\n\n",
        sse(delta(content="a")) + b": keep-alive\n\n" + sse(delta(content="b")),
        b": keep-alive\n\n",
        sse(delta(content="c")) + sse(USAGE) + sse("[DONE]"),
    ],
    "reasoning_content": [
        sse(ROLE),
        *(sse(delta(reasoning_content=w, content=None)) for w in "abc"),
        sse(USAGE),
        sse("[DONE]"),
    ],
    "reasoning": [sse(ROLE), *(sse(delta(reasoning=w)) for w in "abc"), sse(USAGE), sse("[DONE]")],
    "tools": [sse(ROLE), *(sse(tool_call(i)) for i in range(3)), sse(USAGE), sse("[DONE]")],
    "empty_deltas": [sse(ROLE), sse(delta()), sse(delta(content=None)), *standard()[1:]],
    "empty_token": [sse(ROLE), sse(delta(content="")), *standard()[1:]],
    "no_done": standard()[:-1],
    "stream_error": [sse(ROLE), sse(delta(content="a")), sse({"error": {"message": "oom"}})],
    "malformed": [sse(ROLE), sse(delta(content="a")), b"data: {not json\n\n", sse("[DONE]")],
    "nothing": [sse(ROLE), sse(USAGE), sse("[DONE]")],
    "cached": [*standard()[:-2], sse(CACHED_USAGE), sse("[DONE]")],
}


async def chat(request: web.Request) -> web.StreamResponse:
    model = (await request.json())["model"]
    if model == "http_error":
        return web.json_response({"error": {"message": "slow down"}}, status=429)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    pieces = STREAMS.get(model, STREAMS["plain"])
    for position, piece in enumerate(pieces):
        await response.write(piece)
        await asyncio.sleep(0.0005 if model == "bytewise" else 0.003)
        if model == "reset" and position == 2:
            assert request.transport is not None
            request.transport.close()  # mid-stream, without the chunked terminator
            return response
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
    chat_request = ChatRequest([{"role": "user", "content": "hi"}], 3, collect_text=collect_text)
    async with Connections(JobClock()) as connections:
        return await stream_chat(connections, prepare(Endpoint(base_url, model), chat_request))


async def request(base_url: str, model: str) -> RequestSample:
    measurement = await measure(base_url, model)
    return measurement.to_sample(benchmark="b", variant="v", run=0, index=0)


def assert_three_tokens(sample: RequestSample) -> None:
    assert sample.ok, sample.error
    assert len(sample.chunk_times_s) == 3
    assert sample.first_token_s == sample.chunk_times_s[0]
    assert sample.first_response_s is not None and sample.first_response_s <= sample.first_token_s
    assert sample.end_s is not None and sample.end_s >= sample.chunk_times_s[-1]
    assert (sample.prompt_tokens, sample.completion_tokens) == (7, 3)


@pytest.mark.parametrize(
    "model",
    ["plain", "bytewise", "merged", "nospace", "crlf", "comments", "empty_deltas"],
)
async def test_framing_quirks_give_the_same_measurement(base_url: str, model: str) -> None:
    assert_three_tokens(await request(base_url, model))


@pytest.mark.parametrize("model", ["reasoning_content", "reasoning", "tools"])
async def test_reasoning_and_tool_call_streams_count_as_output(base_url: str, model: str) -> None:
    assert_three_tokens(await request(base_url, model))


async def test_an_empty_content_token_without_role_counts_as_vllm_033(base_url: str) -> None:
    sample = await request(base_url, "empty_token")
    assert sample.ok and len(sample.chunk_times_s) == 4
    assert sample.first_response_s is not None and sample.first_token_s is not None
    assert sample.first_token_s > sample.first_response_s  # the role chunk still does not count


async def test_cached_tokens_are_read_from_usage(base_url: str) -> None:
    sample = await request(base_url, "cached")
    assert_three_tokens(sample)
    assert sample.cached_tokens == 5
    assert (await request(base_url, "plain")).cached_tokens is None  # not reported: unknown


@pytest.mark.parametrize("model", ["plain", "bytewise", "merged", "comments", "empty_token"])
async def test_the_answer_text_is_collected_only_when_asked(base_url: str, model: str) -> None:
    collected = await measure(base_url, model, collect_text=True)
    assert collected.error is None and "".join(collected.text or []) == "abc"
    assert len(collected.chunk_times_s) == (4 if model == "empty_token" else 3)
    assert (await measure(base_url, model)).text is None


def test_cache_off_fields_go_only_to_endpoints_that_take_extra_fields() -> None:
    request = ChatRequest([{"role": "user", "content": "hi"}], 3, cache_salt="k1-s0-0")
    payload = build_payload(Endpoint("http://h", "m"), request)
    assert payload["cache_prompt"] is False and payload["cache_salt"] == "k1-s0-0"
    strict = build_payload(Endpoint("http://h", "m", accepts_ignore_eos=False), request)
    assert "cache_prompt" not in strict and "cache_salt" not in strict
    plain = build_payload(Endpoint("http://h", "m"), ChatRequest(request.messages, 3))
    assert "cache_prompt" not in plain and "cache_salt" not in plain


async def test_stream_without_done_is_kept_as_vllm_does(base_url: str) -> None:
    assert_three_tokens(await request(base_url, "no_done"))


async def test_http_error_keeps_status_and_body(base_url: str) -> None:
    sample = await request(base_url, "http_error")
    assert not sample.ok and sample.error is not None
    assert sample.error.startswith("HTTP 429") and "slow down" in sample.error


async def test_connection_reset_mid_stream_is_an_error(base_url: str) -> None:
    sample = await request(base_url, "reset")
    assert not sample.ok and sample.error
    assert sample.first_token_s is not None  # what arrived before the reset is still timed


async def test_error_event_inside_the_stream(base_url: str) -> None:
    sample = await request(base_url, "stream_error")
    assert sample.error is not None and "oom" in sample.error


async def test_malformed_chunk_is_an_error(base_url: str) -> None:
    sample = await request(base_url, "malformed")
    assert sample.error is not None and "malformed" in sample.error


async def test_role_and_usage_only_is_not_a_success(base_url: str) -> None:
    sample = await request(base_url, "nothing")
    assert sample.error == "stream ended without generated output"
    assert sample.completion_tokens == 3 and sample.first_token_s is None


class StaleKeepAlive(asyncio.Protocol):
    """Answers the first request of each connection (advertising keep-alive), then closes the
    connection when a second request arrives on it, without answering: a stale kept-alive
    connection as llama-server leaves them."""

    requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.answered = False
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head, separator, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        if not separator or len(rest) < length:
            return
        self.buffer = rest[length:]
        StaleKeepAlive.requests += 1
        if self.answered:
            self.transport.close()
            return
        self.answered = True
        body = b"".join(standard())
        status = f"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: {len(body)}\r\n\r\n"
        self.transport.write(status.encode() + body)


async def test_a_stale_kept_alive_connection_is_retried_once() -> None:
    server = await asyncio.get_running_loop().create_server(StaleKeepAlive, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    StaleKeepAlive.requests = 0
    chat_request = ChatRequest([{"role": "user", "content": "hi"}], 3)
    async with server, Connections(JobClock()) as connections:
        for _ in range(3):
            prepared = prepare(Endpoint(url, "m"), chat_request)
            measurement = await stream_chat(connections, prepared)
            assert measurement.error is None and len(measurement.chunk_times_s) == 3
    assert StaleKeepAlive.requests == 5  # requests 2 and 3 each met a stale connection first
