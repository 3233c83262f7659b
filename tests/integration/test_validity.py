"""The edges of honest numbers, measured end to end by ``arenactl bench`` against a real
server on loopback: a server that sends its role chunk before prefill (pp t/s becomes
meaningless) and one that fails a third of the streamed requests (the error-rate gate)."""

import asyncio
import csv
import io
import json
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from arena.client.cli import cli
from arena.client.watching import INVALID_EXIT
from arena.common.metrics.validity import PREFILL_METRICS

QUICK = ["--benchmark", "01-chat", "--quick", "0.05", "--runs", "2"]
PREFILL_S = 0.4
"""Long enough that the role chunk, sent at once, stays under a quarter of e2e_ttft (0.1 s)
even when a loaded 2-core box delays it by tens of milliseconds."""


def chunk(delta: dict[str, str]) -> bytes:
    return f"data: {json.dumps({'choices': [{'index': 0, 'delta': delta}]})}\n\n".encode()


def role_first_server(fail_every: int | None) -> Callable[[], web.Application]:
    """Streams like ``transformers serve``: the role chunk at once, then prefill, then tokens;
    with ``fail_every`` every n-th streamed request answers HTTP 500."""
    streamed = 0

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "role-first"}]})

    async def chat(request: web.Request) -> web.StreamResponse:
        nonlocal streamed
        body = await request.json()
        if not body.get("stream"):
            message = {"role": "assistant", "content": "Paris"}
            usage = {"prompt_tokens": 12, "completion_tokens": 1}
            return web.json_response({"choices": [{"message": message}], "usage": usage})
        streamed += 1
        if fail_every and streamed % fail_every == 0:
            return web.Response(status=500, text="worker crashed")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(chunk({"role": "assistant"}))
        await asyncio.sleep(PREFILL_S)
        for _ in range(body.get("max_tokens") or 8):
            await response.write(chunk({"content": "x"}))
            await asyncio.sleep(0.001)
        await response.write(b"data: [DONE]\n\n")
        return response

    async def tokenize(request: web.Request) -> web.Response:
        body = await request.json()
        text = body.get("prompt", body.get("content", ""))
        return web.json_response({"tokens": [ord(c) for c in text]})  # one token a character

    async def detokenize(request: web.Request) -> web.Response:
        ids = (await request.json())["tokens"]
        return web.json_response({"prompt": "".join(chr(i) for i in ids)})

    def make() -> web.Application:
        app = web.Application()
        app.router.add_get("/health", models)
        app.router.add_get("/v1/models", models)
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_post("/tokenize", tokenize)
        app.router.add_post("/detokenize", detokenize)
        return app

    return make


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    return runner, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
async def role_first() -> AsyncIterator[str]:
    runner, url = await serve(role_first_server(None)())
    try:
        yield url
    finally:
        await runner.cleanup()


@pytest.fixture
async def failing() -> AsyncIterator[str]:
    runner, url = await serve(role_first_server(3)())
    try:
        yield url
    finally:
        await runner.cleanup()


def bench(*args: str) -> Result:
    return CliRunner().invoke(cli, ["bench", *args])


async def test_pp_figures_after_a_role_chunk_before_prefill_are_not_meaningful(
    role_first: str,
) -> None:
    result = await asyncio.to_thread(bench, "--target", role_first, *QUICK, "-o", "json")
    assert result.exit_code == 0, result.output
    (chat,) = json.loads(result.stdout)["jobs"][0]["benchmarks"]
    assert chat["valid"] and chat["failed_share"] == 0
    for variant in chat["variants"]:
        present = [key for key in PREFILL_METRICS if key in variant["metrics"]]
        assert "est_ppt" in present and variant["not_meaningful"] == present
        assert variant["metrics"]["e2e_ttft"]["mean"] >= PREFILL_S * 1000
        assert variant["spread_pct"] is not None  # two runs: their spread is shown
    assert any("not meaningful" in flag for flag in chat["flags"])
    shown = await asyncio.to_thread(bench, "--target", role_first, *QUICK)
    assert shown.exit_code == 0, shown.output
    assert "n/m" in shown.output and "sent its first chunk before prefill" in shown.output
    table = await asyncio.to_thread(bench, "--target", role_first, *QUICK, "-o", "csv")
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    notes = {row["metric"]: row["note"] for row in rows if row["variant"].endswith("/c1")}
    assert notes["est_ppt"] == "not meaningful" and notes["tg_throughput"] == ""


async def test_a_third_of_requests_failing_makes_the_benchmark_invalid_and_exits_3(
    failing: str,
) -> None:
    result = await asyncio.to_thread(bench, "--target", failing, *QUICK, "-o", "json")
    assert result.exit_code == INVALID_EXIT == 3, result.output
    (chat,) = json.loads(result.stdout)["jobs"][0]["benchmarks"]
    assert not chat["valid"] and chat["failed_share"] == pytest.approx(1 / 3, abs=0.05)
    assert chat["flags"][0].startswith("invalid: ")
    assert "invalid benchmark(s)" in result.stderr
