"""The client's own load reaches the results: the agent puts each run's client figures in the
job's provenance, the controller flags that run ``client_saturated``, the benchmark is invalid
and ``arenactl show`` names the run and the value that crossed the limit."""

import asyncio
import io

import pytest
from rich.console import Console

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.client.api import ArenaClient
from arena.client.render import show_results
from arena.common.metrics.client_load import RunClientFigures, put_run, run_figures_of
from arena.common.metrics.engine_runs import engine_run_of
from arena.common.schemas.job import JobState
from arena.common.schemas.results import RunResults
from arena.common.schemas.sample import RequestSample
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings

SUITE = """
name: client-load
models: [{name: tiny, engine: sim}]
engines: {sim: {runtime: simulated}}
runs: 2
benchmarks:
  - {kind: open_loop, id: office, input_len: 8, output_len: 4, num_prompts: 2,
     request_rate: [5]}
"""
VARIANT = "rate5"


def sample(run: int, index: int, read_stall_s: float | None = None) -> RequestSample:
    """On time to the microsecond: only the client's figures can flag these runs."""
    t = run * 10.0 + index
    return RequestSample(
        read_stall_s=read_stall_s,
        benchmark="office",
        variant=VARIANT,
        run=run,
        index=index,
        scheduled_s=t,
        queued_s=t,
        sent_s=t,
        first_response_s=t + 0.1,
        first_token_s=t + 0.1,
        end_s=t + 0.4,
        chunk_times_s=[t + 0.1, t + 0.2, t + 0.3, t + 0.4],
        prompt_tokens=8,
        completion_tokens=4,
    )


@pytest.fixture
def controller_settings(controller_settings: ControllerSettings) -> ControllerSettings:
    """This file tests the verdict: a saturated client makes its benchmark invalid."""
    return controller_settings.model_copy(update={"accept_saturated_clients": False})


def test_provenance_layout_round_trips() -> None:
    provenance: dict[str, object] = {"command": "x"}
    figures = RunClientFigures(cpu_util=0.934567, loop_lag_p99_ms=0.2, loop_lag_max_ms=3.0)
    put_run(provenance, "office", VARIANT, 1, figures)
    stored_run = {"cpu_util": 0.9346, "loop_lag_p99_ms": 0.2, "loop_lag_max_ms": 3.0}
    assert provenance["client_load"] == {"office": {VARIANT: {"1": stored_run}}}
    stored = run_figures_of(provenance, "office", VARIANT, 1)
    assert stored is not None and stored.cpu_util == 0.9346
    assert stored.loop_lag_max_ms == 3.0 and stored.read_stall_p99_ms is None
    assert run_figures_of(provenance, "office", VARIANT, 0) is None
    assert run_figures_of({}, "office", VARIANT, 1) is None


@pytest.mark.parametrize(
    "stored",
    [
        "junk",
        {"office": ["not", "a", "mapping"]},
        {"office": {VARIANT: 7}},
        {"office": {VARIANT: {"1": {"cpu_util": float("nan"), "loop_lag_p99_ms": True}}}},
    ],
)
def test_a_malformed_provenance_reads_as_not_measured(stored: object) -> None:
    provenance = {"client_load": stored, "engine_runs": stored}
    assert run_figures_of(provenance, "office", VARIANT, 1) in (None, RunClientFigures())
    assert engine_run_of(provenance, "office", VARIANT, 1) == {}


def test_an_older_agents_bare_float_is_read_as_cpu_util() -> None:
    provenance = {"client_load": {"office": {VARIANT: {"0": 0.5, "1": "junk"}}}}
    assert run_figures_of(provenance, "office", VARIANT, 0) == RunClientFigures(cpu_util=0.5)
    assert run_figures_of(provenance, "office", VARIANT, 1) is None


async def test_a_saturated_client_is_flagged_and_shown(controller: Controller) -> None:
    address = f"127.0.0.1:{controller.port}"
    with ArenaClient(address, DEV_USER_TOKEN) as client:
        run_id, [job] = await asyncio.to_thread(client.submit, SUITE, "load.yaml")
    link = ControllerLink(address, DEV_AGENT_TOKEN)
    await link.register("load-agent", probe(), {}, {})
    lease = await link.lease(wait_s=1)
    assert lease is not None and lease.job_id == job
    await link.report(job, 1, JobState.RUNNING)
    samples = [sample(run, index) for run in (0, 1) for index in (0, 1)]
    assert await link.push_samples(job, 1, 1, samples) == 4
    provenance: dict[str, object] = {}
    watched = {"loop_lag_p99_ms": 0.1, "loop_lag_max_ms": 0.3}  # an agent that watched its loop
    put_run(provenance, "office", VARIANT, 0, RunClientFigures(cpu_util=0.25, **watched))
    put_run(provenance, "office", VARIANT, 1, RunClientFigures(cpu_util=0.97, **watched))
    await link.report(job, 1, JobState.SUCCEEDED, total_samples=4, provenance=provenance)
    await link.close()

    with ArenaClient(address, DEV_USER_TOKEN) as client:
        results = await asyncio.to_thread(client.results, run_id)
    [office] = results.jobs[0].benchmarks
    [variant] = office.variants
    assert variant.metrics["client_cpu_util"].mean == (0.25 + 0.97) / 2
    assert variant.metrics["client_saturated"].mean == 0.5  # one run of two
    assert variant.metrics["p99_send_lag_ms"].mean == 0.0

    assert variant.metrics["client_worst_run"].mean == 1
    assert variant.metrics["worst_run_client_cpu_util"].mean == 0.97
    # the warning quotes the run that crossed the limit, not the mean of runs (61 %)
    assert office.valid is False
    assert office.flags == [
        "invalid: client fell behind in rate5 (1 of 2 runs; worst run 1: busiest client core "
        "97% busy > 90 %): its latencies include its own delay"
    ]
    out = io.StringIO()
    show_results(Console(file=out, width=200), results)
    assert "INVALID" in out.getvalue() and "worst run 1" in out.getvalue()


async def _finished(
    controller: Controller,
    samples: list[RequestSample],
    provenance: dict[str, object],
) -> RunResults:
    """A job of ``SUITE`` run by a fake agent that pushed ``samples`` and ``provenance``."""
    address = f"127.0.0.1:{controller.port}"
    with ArenaClient(address, DEV_USER_TOKEN) as client:
        run_id, [job] = await asyncio.to_thread(client.submit, SUITE, "load.yaml")
    link = ControllerLink(address, DEV_AGENT_TOKEN)
    await link.register("load-agent", probe(), {}, {})
    lease = await link.lease(wait_s=1)
    assert lease is not None and lease.job_id == job
    await link.report(job, 1, JobState.RUNNING)
    assert await link.push_samples(job, 1, 1, samples) == len(samples)
    await link.report(job, 1, JobState.SUCCEEDED, total_samples=len(samples), provenance=provenance)
    await link.close()
    with ArenaClient(address, DEV_USER_TOKEN) as client:
        return await asyncio.to_thread(client.results, run_id)


async def test_a_read_stall_past_its_limit_makes_the_run_saturated(
    controller: Controller,
) -> None:
    """Run 1's loop stalled 5 ms between a send and its first token: the run is saturated on
    that alone (CPU, send lag and loop figures all quiet)."""
    samples = [sample(0, index, 0.0) for index in (0, 1)]
    samples += [sample(1, 0, 0.005), sample(1, 1, 0.005)]
    provenance: dict[str, object] = {}
    for run in (0, 1):
        put_run(provenance, "office", VARIANT, run, RunClientFigures(cpu_util=0.1))
    results = await _finished(controller, samples, provenance)
    [office] = results.jobs[0].benchmarks
    [variant] = office.variants
    assert variant.metrics["client_saturated"].mean == 0.5
    assert office.valid is False
    assert office.flags == [
        "invalid: client fell behind in rate5 (1 of 2 runs; worst run 1: read stalls p99 "
        "5.0 % of TTFT > 2 %): its latencies include its own delay"
    ]


async def test_a_stall_small_beside_the_ttft_is_shown_but_not_saturation(
    controller: Controller,
) -> None:
    """A 1.5 ms stall before first tokens 100 ms away (1.5 %, inside the ±2 % band: what the
    embedded controller's ingest did to a closed-loop batch on an H100) is shown as the read
    stall it was, and the benchmark stays valid."""
    samples = [sample(run, index, 0.0015) for run in (0, 1) for index in (0, 1)]
    provenance: dict[str, object] = {}
    for run in (0, 1):
        put_run(provenance, "office", VARIANT, run, RunClientFigures(cpu_util=0.1))
    results = await _finished(controller, samples, provenance)
    [office] = results.jobs[0].benchmarks
    [variant] = office.variants
    assert variant.metrics["read_stall_p99_ms"].mean == pytest.approx(1.5)
    assert variant.metrics["read_stall_ttft_p99_pct"].mean == pytest.approx(1.5)
    assert variant.metrics["client_saturated"].mean == 0.0
    assert office.valid is True and not [f for f in office.flags if "client" in f]


async def test_an_older_agents_saturated_run_keeps_a_warning(controller: Controller) -> None:
    """An agent before issue 24 measured CPU (and stamped sends after the write), no loop lag
    or read stall: its verdict is shown as the warning it was, the benchmark stays valid."""
    samples = [sample(run, index) for run in (0, 1) for index in (0, 1)]
    provenance: dict[str, object] = {"client_load": {"office": {VARIANT: {"0": 0.25, "1": 0.97}}}}
    results = await _finished(controller, samples, provenance)
    [office] = results.jobs[0].benchmarks
    assert office.valid is True
    assert office.flags == [
        "warning: client fell behind in rate5 (1 of 2 runs; worst run 1: busiest client core "
        "97% busy > 90 %): its latencies include its own delay"
    ]


async def test_malformed_provenance_does_not_break_results(controller: Controller) -> None:
    """A job whose provenance has the wrong shapes (an agent bug, a hand-made import) is still
    aggregated and shown: the malformed parts read as not recorded."""
    samples = [sample(run, index) for run in (0, 1) for index in (0, 1)]
    provenance = {
        "client_load": {"office": ["junk"]},
        "engine_runs": {"office": {VARIANT: {"0": "x", "1": [1]}}},
        "engine_metrics": ["not", "a", "mapping"],
        "hardware": "a string",
        "telemetry": 5,
    }
    results = await _finished(controller, samples, provenance)
    [office] = results.jobs[0].benchmarks
    [variant] = office.variants
    assert variant.metrics["completed"].mean == 2
    assert office.engine_metrics == {}
    out = io.StringIO()
    show_results(Console(file=out, width=200), results)
    assert "office" in out.getvalue()
