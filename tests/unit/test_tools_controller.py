"""Tool results through a real controller: stored per attempt (fenced, replace on resend),
llama-benchy's report as the summary, vLLM's numbers beside Arena's, commands in the view."""

import asyncio
import io
import json

import pytest
from rich.console import Console

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.client.api import ArenaClient
from arena.client.render import show_results
from arena.common.errors import ConflictError
from arena.common.schemas.job import JobState
from arena.common.schemas.sample import RequestSample
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL

SUITE = """
name: tools-test
models: [{name: tiny, engine: sim}]
engines: {sim: {runtime: simulated}}
runs: 1
benchmarks:
  - {kind: closed_loop, id: chat, pp: [16], tg: [8], concurrency: [1], tool: llama-benchy,
     exact_tg: true}
  - {kind: open_loop, id: office, input_len: 8, output_len: 4, num_prompts: 2,
     request_rate: [5], tool: vllm-bench}
"""
CHAT_KEY, OFFICE_KEY = "pp16/tg8/d0/c1", "rate5"
BENCHY_METRICS = {CHAT_KEY: {"tg_throughput": {"mean": 123.5, "std": 1.5, "n": 1}}}
VLLM_METRICS = {OFFICE_KEY: {"mean_ttft_ms": {"mean": 999.0, "std": 0.0, "n": 1}}}


def sample(bench: str, variant: str, index: int) -> RequestSample:
    return RequestSample(
        benchmark=bench,
        variant=variant,
        run=0,
        index=index,
        sent_s=index,
        first_response_s=index + 0.1,
        first_token_s=index + 0.1,
        end_s=index + 0.4,
        chunk_times_s=[index + 0.1, index + 0.2, index + 0.3, index + 0.4],
        prompt_tokens=16,
        completion_tokens=4,
    )


async def test_tool_results_are_stored_fenced_and_shown(controller: Controller) -> None:
    address = f"127.0.0.1:{controller.port}"
    with ArenaClient(address, DEV_USER_TOKEN) as client:
        run_id, [job] = await asyncio.to_thread(client.submit, SUITE, "tools.yaml")
    link = ControllerLink(address, DEV_AGENT_TOKEN)
    await link.register("tools-agent", probe(), {}, {})
    lease = await link.lease(wait_s=1)
    assert lease is not None and lease.job_id == job
    await link.report(job, 1, JobState.RUNNING)
    samples = [sample("chat", CHAT_KEY, 0), sample("office", OFFICE_KEY, 0)]
    samples.append(sample("office", OFFICE_KEY, 1))
    assert await link.push_samples(job, 1, 1, samples) == 3
    await link.push_tool_result(job, 1, "chat", "llama-benchy", "old", "{}", {})
    await link.push_tool_result(  # a resend replaces
        job, 1, "chat", "llama-benchy", "llama-benchy --runs 1", '{"v": 1}', BENCHY_METRICS
    )
    await link.push_tool_result(
        job, 1, "office", "vllm-bench", "vllm bench serve --seed 42", "{}", VLLM_METRICS
    )
    with pytest.raises(ConflictError):
        await link.push_tool_result(job, 2, "chat", "llama-benchy", "x", "{}", {})
    with pytest.raises(Exception, match="no benchmark"):
        await link.push_tool_result(job, 1, "nope", "llama-benchy", "x", "{}", {})
    await link.report(job, 1, JobState.SUCCEEDED, total_samples=3)
    await link.close()

    with ArenaClient(address, DEV_USER_TOKEN) as client:
        results = await asyncio.to_thread(client.results, run_id)
    chat, office = results.jobs[0].benchmarks
    assert (chat.tool, chat.command) == ("llama-benchy", "llama-benchy --runs 1")
    [chat_variant] = chat.variants
    assert chat_variant.metrics["tg_throughput"].mean == 123.5  # the tool's report, not ours
    assert chat_variant.runs == 1
    assert office.tool == "vllm-bench" and office.command == "vllm bench serve --seed 42"
    [office_variant] = office.variants
    ours = office_variant.metrics["mean_ttft_ms"].mean
    assert ours == pytest.approx(100.0)  # from the samples
    assert office.tool_metrics[OFFICE_KEY]["mean_ttft_ms"].mean == 999.0  # kept beside
    buffer = io.StringIO()
    show_results(Console(file=buffer, width=200), results)
    text = buffer.getvalue()
    assert "run by llama-benchy" in text and "$ llama-benchy --runs 1" in text
    assert "$ vllm bench serve --seed 42" in text
    assert chat.exact_tg and not office.exact_tg  # the suite's setting, shown by its table
    assert text.count("exact tg: ignore_eos sent with every request") == 1
    assert json.loads(results.model_dump_json())["jobs"][0]["benchmarks"][0]["tool"]
