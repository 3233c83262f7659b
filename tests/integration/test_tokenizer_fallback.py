"""Which endpoints get approximate prompt lengths: one without tokenizer routes (404), never
one whose tokenizer exists and fails (HTTP 500 is the engine's problem, and fails the job)."""

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from arena.agent.generator.client import Endpoint
from arena.agent.generator.tokens import (
    CHARS_PER_TOKEN,
    ServerOrApproximate,
    TokenizerError,
    exact_lengths,
)


@pytest.fixture
async def tokenize_status() -> AsyncIterator[tuple[str, list[int]]]:
    """A server whose /tokenize and /detokenize answer the status the test puts in the list."""
    status = [404]

    async def route(request: web.Request) -> web.Response:
        return web.Response(status=status[0], text="nope")

    app = web.Application()
    app.router.add_post("/tokenize", route)
    app.router.add_post("/detokenize", route)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", status
    finally:
        await runner.cleanup()


async def test_no_route_gives_approximate_lengths_that_round_trip(
    tokenize_status: tuple[str, list[int]],
) -> None:
    url, _ = tokenize_status
    tokenizer = ServerOrApproximate(Endpoint(url, "m"))
    text = "The quick brown fox jumps over the lazy dog."
    ids = await tokenizer.encode(text)
    assert len(ids) == -(-len(text) // CHARS_PER_TOKEN)
    assert await tokenizer.decode(ids) == text
    assert await tokenizer.decode(ids[2:5]) == text[8:20]
    assert tokenizer.approximate is not None and "HTTP 404" in tokenizer.approximate
    assert not exact_lengths(tokenizer)  # its counts are no match for the engine's usage
    await tokenizer.close()


async def test_a_tokenizer_that_fails_fails_the_job(
    tokenize_status: tuple[str, list[int]],
) -> None:
    url, status = tokenize_status
    status[0] = 500
    tokenizer = ServerOrApproximate(Endpoint(url, "m"))
    with pytest.raises(TokenizerError, match="HTTP 500"):
        await tokenizer.encode("text")
    assert tokenizer.approximate is None and exact_lengths(tokenizer)
    await tokenizer.close()
