"""``arenactl bench`` against endpoints with no tokenizer routes (``bench/instant_server.py``
answers every POST with a completion): approximate lengths, said at start and flagged, or
exact ones from ``--tokenizer``; and a server that streams even when asked not to passes the
sanity probe."""

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bench.instant_server import render_stream
from tests.conftest import REPO
from tests.integration.test_arenactl_bench import bench
from tests.unit.test_generator_tokens import tokenizer_dir as tokenizer_dir  # noqa: F401

QUICK = ["--benchmark", "01-chat", "--quick", "0.05", "--runs", "1"]
APPROXIMATE = "approximate prompt lengths: 4 characters per token"


@pytest.fixture
def instant_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.instant_server", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


async def test_an_endpoint_without_tokenize_is_measured_with_approximate_lengths(
    streaming_server: str,
) -> None:
    """``streaming_server`` has no ``/tokenize`` (``instant_server`` now has one)."""
    result = await asyncio.to_thread(bench, "--target", streaming_server, *QUICK, "-o", "json")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    said = " ".join(result.stderr.split())  # the console wraps lines
    assert "no tokenizer on the endpoint (/tokenize: HTTP 404" in said  # said at start
    assert "prompt lengths will be approximate (4 characters per token)" in said
    (job,) = json.loads(result.stdout)["jobs"]
    assert job["provenance"]["prompt_lengths"]["exact"] is False
    (chat,) = job["benchmarks"]
    assert any(flag.startswith(APPROXIMATE) for flag in chat["flags"])
    assert all(variant["runs"] == 1 for variant in chat["variants"])


def test_a_local_tokenizer_gives_exact_lengths(
    instant_server: str,
    tokenizer_dir: Path,  # noqa: F811
) -> None:
    tokenizer = str(tokenizer_dir / "tokenizer.json")
    result = bench("--target", instant_server, *QUICK, "--tokenizer", tokenizer, "-o", "json")
    assert result.exit_code == 0, result.output
    assert "no tokenizer on the endpoint" not in result.stderr
    (job,) = json.loads(result.stdout)["jobs"]
    assert "prompt_lengths" not in job["provenance"]
    (chat,) = job["benchmarks"]
    assert not any(flag.startswith(APPROXIMATE) for flag in chat["flags"])
    assert chat["variants"]


def test_a_tokenizer_that_is_no_tokenizer_is_refused_before_starting(
    instant_server: str, tmp_path: Path
) -> None:
    (tmp_path / "tokenizer.json").write_text("{not json")
    result = bench("--target", instant_server, *QUICK, "--tokenizer", str(tmp_path))
    assert result.exit_code == 2
    assert "cannot load tokenizer" in result.output


@pytest.fixture
async def streaming_server(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """Answers every chat request with an event stream, ``stream: false`` or not; with the
    parameter ``"broken tokenizer"``, its ``/tokenize`` answers HTTP 500."""
    body = render_stream(8, "always-streams")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="tokenizer crashed")

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "always-streams"}]})

    async def chat(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/event-stream")

    app = web.Application()
    app.router.add_get("/health", models)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    if getattr(request, "param", None) == "broken tokenizer":
        app.router.add_post("/tokenize", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


async def test_the_sanity_probe_accepts_a_server_that_always_streams(
    streaming_server: str,
) -> None:
    result = await asyncio.to_thread(bench, "--target", streaming_server, *QUICK, "-o", "json")
    assert result.exit_code == 0, result.output
    (job,) = json.loads(result.stdout)["jobs"]
    sanity = job["provenance"]["sanity"]
    assert sanity["streamed"] is True
    assert sanity["answer"] == "".join(f" tok{i}" for i in range(8))
    assert sanity["completion_tokens"] == 8


@pytest.mark.parametrize("streaming_server", ["broken tokenizer"], indirect=True)
async def test_a_failing_tokenizer_is_said_to_fail_the_job_not_to_approximate(
    streaming_server: str,
) -> None:
    """The agent falls back only when the route is missing (404, 405, 501, another shape):
    a tokenizer that errors fails the job, and the warning at start says so."""
    result = await asyncio.to_thread(bench, "--target", streaming_server, *QUICK)
    said = " ".join(result.stderr.split())  # the console wraps lines
    assert "the endpoint's tokenizer failed (/tokenize: HTTP 500" in said
    assert "the job will fail" in said
    assert "approximate" not in said
    assert result.exit_code == 1
    assert "tokenizer crashed" in result.output


@pytest.fixture
def paced_server() -> Iterator[str]:
    """``instant_server`` paced: 20 ms a token, so a quick chat benchmark lasts seconds."""
    args = ["--port", "0", "--ttft-ms", "20", "--itl-ms", "20"]
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.instant_server", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_progress_shows_elapsed_time_and_an_estimate_of_what_is_left(paced_server: str) -> None:
    result = bench("--target", paced_server, "--benchmark", "01-chat", "--quick", "0.05")
    assert result.exit_code == 0, result.output
    running = [line for line in result.output.splitlines() if " running: " in line]
    estimated = [line for line in running if " left (01-chat ~" in line]
    assert estimated, running  # e.g. "... 12/48 req 210 tok/s 0 err 6s, ~18s left (01-chat ~18s)"
