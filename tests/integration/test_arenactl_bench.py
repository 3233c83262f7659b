"""``arenactl bench``: an embedded controller and agent benchmark an endpoint that is already
running (the simulated engine as a plain HTTP server process) and print the results."""

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from arena.agent.simulated.server import LISTENING_PREFIX
from arena.client.cli import cli
from tests.conftest import REPO

QUICK = ["--benchmark", "01-chat", "--quick", "0.05", "--runs", "1"]


@pytest.fixture
def endpoint() -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arena.agent.simulated.server",
            "--port",
            "0",
            "--decode-step-ms",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(LISTENING_PREFIX), line
        yield f"http://127.0.0.1:{int(line[len(LISTENING_PREFIX) :])}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def bench(*args: str) -> Result:
    return CliRunner().invoke(cli, ["bench", *args])


def test_bench_measures_an_endpoint_and_names_the_model_it_serves(endpoint: str) -> None:
    result = bench("--target", f"{endpoint}/v1", *QUICK, "-o", "json")
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)
    assert results["state"] == "succeeded" and results["suite"] == "arenactl-bench"
    (job,) = results["jobs"]
    assert (job["model"], job["engine"], job["state"]) == ("arena-sim", "external", "succeeded")
    # Arena's simulated engine behind an endpoint is still labelled simulated (its header)
    assert job["simulated"] is True
    assert job["provenance"]["sanity"]["engine_label"] == "simulated"
    (chat,) = job["benchmarks"]
    assert chat["id"] == "01-chat" and chat["exact_tg"] is False  # the reference's setting
    assert [variant["runs"] for variant in chat["variants"]] == [1, 1, 1]
    assert all(variant["metrics"]["tg_throughput"]["mean"] > 0 for variant in chat["variants"])


def test_bench_runs_the_agentic_set_quick(endpoint: str) -> None:
    """``--suite arena-agentic``: session benchmarks through the embedded controller and agent
    (the endpoint's cache is off, as ``arena-sim`` starts by default: nothing is served from
    it, and the cache-off control is not flagged)."""
    quick = ["--quick", "0.1", "--runs", "1"]
    result = bench(
        "--target",
        endpoint,
        "--suite",
        "arena-agentic",
        "--benchmark",
        "a3-rag",
        *quick,
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    (job,) = json.loads(result.stdout)["jobs"]
    (rag,) = job["benchmarks"]
    assert rag["id"] == "a3-rag" and rag["prefix_cache"] == "on"
    assert [variant["key"] for variant in rag["variants"]] == ["u4", "u16"]
    assert rag["engine_metrics"]["prefix_cache_hits"] == 0


def test_bench_shows_progress_and_the_show_tables(endpoint: str) -> None:
    result = bench("--target", endpoint, "--model", "my-model", *QUICK, "--exact-tg")
    assert result.exit_code == 0, result.output
    assert "benchmarking my-model at" in result.output
    assert "exact tg: ignore_eos sent with every request" in result.output
    assert "01-chat Chat" in result.output and "pp51/tg51/d0/c10" in result.output
    assert "Values are mean ± population std over runs." in result.output


def test_bench_refuses_an_unknown_benchmark_before_starting_anything(endpoint: str) -> None:
    result = bench("--target", endpoint, "--benchmark", "99-nope")
    assert result.exit_code == 2
    assert "unknown benchmark '99-nope'" in result.output


def test_bench_without_a_model_name_asks_for_one_when_the_endpoint_cannot_say() -> None:
    result = bench("--target", "http://127.0.0.1:1")
    assert result.exit_code == 1
    assert "cannot read a model name from http://127.0.0.1:1/v1/models" in result.output
    assert "pass --model" in result.output


@pytest.fixture
async def broken_endpoint() -> AsyncIterator[str]:
    """Healthy and lists a model, but answers every generation with HTTP 500."""

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "broken"}]})

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500, text="out of memory")

    app = web.Application()
    app.router.add_get("/health", models)
    app.router.add_get("/v1/models", models)
    app.router.add_route("*", "/{tail:.*}", fail)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


async def test_bench_exits_non_zero_when_the_run_fails(broken_endpoint: str) -> None:
    result = await asyncio.to_thread(bench, "--target", broken_endpoint, *QUICK)
    assert result.exit_code == 1, result.output
    assert "failed" in result.output and "out of memory" in result.output
