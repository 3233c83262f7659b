"""The built-in arena-agentic set, quick, end to end on the simulated engine with its prefix
cache on: submitted to a real controller, carried over gRPC to the agent, run by the session
generator. Every request is a session's turn; the cache-on benchmark is served from the cache
and the cache-off control is not, by the samples and by the engine's own counters."""

import asyncio
from pathlib import Path

import pytest

from arena.agent.hardware import probe
from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.common.schemas.sample import RequestSample
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, lease_one_job, long_leases, run_leased

SUITE = """
name: agentic-quick
suite: arena-agentic
only: [a3-rag, a4-coding-cache-off]
quick: 0.1
runs: 1
models: [{name: tiny, engine: sim}]
engines:
  sim: {runtime: simulated, prefix_cache: true, decode_step_ms: 2}
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


def hit_share(samples: list[RequestSample]) -> float:
    prompt = sum(s.prompt_tokens or 0 for s in samples)
    return sum(s.cached_tokens or 0 for s in samples) / prompt


async def test_agentic_quick_on_the_simulated_engine(
    controller: Controller, tmp_path: Path
) -> None:
    link, lease, run_id = await lease_one_job(controller, SUITE, "agentic-box", probe())
    assert lease.spec.engine.model_dump()["prefix_cache"] is True  # survived the wire
    settings = AgentSettings(state_dir=tmp_path / "agent", name="agentic-box")
    execution = await run_leased(link, lease, settings)
    # the session benchmarks' request estimates were refined as their steps ran: the job
    # never reports more requests done than expected (the run page once read "14 / 2")
    progress = execution.progress()
    assert 0 < progress.requests_done <= progress.requests_total

    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        detail = await asyncio.to_thread(client.run, run_id)
        [job] = detail.jobs
        assert job.state == "succeeded", job.message
        samples = [s for _, s in await asyncio.to_thread(list, client.samples(job_id=job.job_id))]
        results = await asyncio.to_thread(client.results, run_id)

    rag = [s for s in samples if s.benchmark == "a3-rag"]
    control = [s for s in samples if s.benchmark == "a4-coding-cache-off"]
    assert {s.variant for s in rag} == {"u4", "u16"} and {s.variant for s in control} == {"u8"}
    for sample in samples:
        assert sample.error is None
        assert sample.session is not None and sample.session.startswith("s")
        assert sample.turn is not None and sample.cached_tokens is not None
    assert any(s.turn for s in control)  # coding sessions go on past their first turn
    # the shared corpus prefix comes from the cache; the control asks for no reuse
    assert hit_share(rag) > 0.3
    assert all(s.cached_tokens == 0 for s in control)
    [result] = results.jobs
    figures = {bench.id: bench.engine_metrics for bench in result.benchmarks}
    assert figures["a3-rag"]["prefix_cache_hit_pct"] > 30
    assert figures["a4-coding-cache-off"]["prefix_cache_hit_pct"] == 0
