"""The measured requests' HTTP client against raw servers: framings aiohttp's test server does
not produce (one write holding headers and body, a body ended by the close), and the wire
format of what it sends."""

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest

from arena.agent.generator.client import ChatRequest, Endpoint, prepare, stream_chat
from arena.agent.generator.clock import JobClock
from arena.agent.generator.http import Connections, Origin, render_post

EVENTS = (
    b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"b"}}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)
Answer = Callable[[bytes], bytes]


@contextlib.asynccontextmanager
async def raw_server(answer: Answer, close_after: bool) -> AsyncIterator[tuple[str, list[bytes]]]:
    """Answers each request with ``answer(request)`` in one write; yields its URL and a list
    of what came in."""
    received: list[bytes] = []
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                request = head + await reader.readexactly(length)
                received.append(request)
                writer.write(answer(request))
                await writer.drain()
                if close_after:
                    break
        except asyncio.IncompleteReadError:
            pass  # the client closed its kept-alive connection
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", received
        for writer in writers:
            writer.close()
            await writer.wait_closed()


@pytest.fixture
async def connections() -> AsyncIterator[Connections]:
    async with Connections(JobClock()) as pool:
        yield pool


async def test_headers_and_body_in_one_read(connections: Connections) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    answer = head + f"Content-Length: {len(EVENTS)}\r\n\r\n".encode() + EVENTS
    async with raw_server(lambda _: answer, False) as (url, received):
        endpoint = Endpoint(url, "m", api_key="k")
        for _ in range(2):  # the second request reuses the kept-alive connection
            m = await stream_chat(connections, prepare(endpoint, ChatRequest([], 2)))
            assert m.error is None and len(m.chunk_times_s) == 2 and m.completion_tokens == 2
            assert m.first_response_s is not None and m.end_s is not None
    assert len(received) == 2
    first = received[0].decode()
    assert first.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{url.rsplit(':', 1)[1]}\r\n" in first
    assert "Authorization: Bearer k\r\n" in first and '"stream": true' in first


async def test_a_body_ended_by_the_close_is_complete(connections: Connections) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    async with raw_server(lambda _: head + EVENTS, True) as (url, _):
        m = await stream_chat(connections, prepare(Endpoint(url, "m"), ChatRequest([], 2)))
    assert m.error is None and len(m.chunk_times_s) == 2


async def test_a_body_cut_short_is_not_complete_even_when_the_server_closes(
    connections: Connections,
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
    cut = head + f"Content-Length: {len(EVENTS) + 100}\r\n\r\n".encode() + EVENTS
    async with raw_server(lambda _: cut, True) as (url, _):
        m = await stream_chat(connections, prepare(Endpoint(url, "m"), ChatRequest([], 2)))
    assert m.error is not None and "connection lost mid-response" in m.error


async def test_a_malformed_answer_fails_the_request(connections: Connections) -> None:
    async with raw_server(lambda _: b"NONSENSE\r\n\r\n", True) as (url, _):
        m = await stream_chat(connections, prepare(Endpoint(url, "m"), ChatRequest([], 2)))
    assert m.error is not None and "malformed HTTP response" in m.error


def test_origins_and_request_lines() -> None:
    assert Origin.of("https://example.org/v1") == Origin(True, "example.org", 443)
    assert Origin.of("http://[::1]:8000").host_header() == "[::1]:8000"
    assert Origin.of("http://h:80").host_header() == "h"
    with pytest.raises(ValueError, match="not an http"):
        Origin.of("ftp://h")
    wire = render_post("http://h:8000/v1/chat?x=1", b"{}", {"X-A": "b"})
    assert wire == (
        b"POST /v1/chat?x=1 HTTP/1.1\r\nHost: h:8000\r\nContent-Length: 2\r\n"
        b"Accept: text/event-stream, application/json\r\nX-A: b\r\n\r\n{}"
    )


async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    """The server's close arrived but the loop has not run since: the pool still sees it."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    acceptor = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
    acceptor.start()
    async with Connections(JobClock()) as pool:
        origin = Origin(False, "127.0.0.1", port)
        connection = await pool.acquire(origin)
        acceptor.join(5)
        assert not connection.hung_up()
        accepted[0].close()  # the server hangs up on the idle connection …
        time.sleep(0.05)  # noqa: ASYNC251 (its close arrives while the event loop does not run)
        assert not connection.closed and connection.hung_up()
    listener.close()
