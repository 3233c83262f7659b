"""What an agent sends is checked against its job, not against itself (issue 21, must-have 6):
crafted samples, GPU readings, tool results and heartbeat progress sent over real gRPC to a
real controller are refused whole, store nothing (rows before and after) and flag the job."""

import asyncio
import math
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from arena.agent.link import ControllerLink
from arena.client.api import ArenaClient
from arena.common.errors import InvalidRequestError
from arena.common.schemas.job import JobProgress, JobState
from arena.common.schemas.telemetry import GpuReading
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.databases import rows
from tests.direct_job import long_leases
from tests.integration.test_protocol import address, registered, sample, submit

pytestmark = pytest.mark.backends  # refusals differ by database (a COPY's unique violation)

TABLES = ("samples", "telemetry", "tool_results")
VARIANT = "pp16/tg8/d0/c2"
"""The one variant of test_protocol's suite: 2 requests of at most 8 output tokens."""


@pytest.fixture
def controller_settings(tmp_path: Path, database_url: str | None) -> ControllerSettings:
    return long_leases(tmp_path / "controller", database_url)


def counts(controller: Controller) -> dict[str, int]:
    url = controller.settings.database
    return {table: rows(url, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


async def leased(controller: Controller, *, running: bool = True) -> tuple[ControllerLink, str]:
    await submit(controller)
    link = await registered(controller, "box-1")
    lease = await link.lease(wait_s=1)
    assert lease is not None
    if running:
        await link.report(lease.job_id, 1, JobState.RUNNING, clock_origin_unix=1.0)
    return link, lease.job_id


def job_info(controller: Controller, job_id: str) -> Any:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        return client.job(job_id).job


async def refused(
    controller: Controller, job_id: str, push: Awaitable[object], reason: str
) -> None:
    """The push is refused naming ``reason``, stores nothing, and flags the job with it."""
    before = counts(controller)
    with pytest.raises(InvalidRequestError) as caught:
        await push
    assert reason in str(caught.value)
    assert counts(controller) == before
    flags = (await asyncio.to_thread(job_info, controller, job_id)).flags
    assert len(flags) == 1 and reason in flags[0]


async def test_samples_before_running_fit_between_the_lease_and_now(
    controller: Controller,
) -> None:
    """Before the RUNNING report the window is the time since the lease (plus the tolerance),
    not unbounded: a sample that ends 10,000 s into a job leased a moment ago is refused."""
    link, job = await leased(controller, running=False)
    late = sample(1).model_copy(update={"end_s": 1e4, "chunk_times_s": [0.2, 1e4]})
    await refused(
        controller, job, link.push_samples(job, 1, 1, [sample(0), late]), "past the job's running"
    )
    assert await link.push_samples(job, 1, 1, [sample(0)]) == 1  # a sane one still goes in
    await link.close()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"completion_tokens": 8, "max_tokens": 4096}, "max_tokens 4096 is more than the 8"),
        (
            {"variant": "pp16/tg4096/d0/c2", "completion_tokens": 4000, "max_tokens": 4096},
            "variant 'pp16/tg4096/d0/c2' is not in the job's benchmark 'chat'",
        ),
        ({"index": 0}, "run 0 index 0 of pp16/tg8/d0/c2 is sent twice"),
    ],
    ids=["max-tokens-past-the-spec", "variant-not-in-the-job", "twice"],
)
async def test_a_sample_is_checked_against_the_jobs_spec(
    controller: Controller, change: dict[str, object], reason: str
) -> None:
    link, job = await leased(controller)
    bad = sample(1).model_copy(update=change)
    await refused(controller, job, link.push_samples(job, 1, 1, [sample(0), bad]), reason)
    assert await link.push_samples(job, 1, 1, [sample(0), sample(1)]) == 2
    await link.close()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"written_s": math.nan}, "written_s is nan"),
        ({"written_s": math.inf}, "written_s is inf"),
        ({"written_s": -5.0}, "written_s (-5.000000) is outside sent_s..end_s"),
        ({"written_s": 1e4}, "is outside sent_s..end_s"),
        ({"read_stall_s": math.nan}, "read_stall_s nan is outside"),
        ({"read_stall_s": -0.5}, "read_stall_s -0.5 is outside"),
        ({"read_stall_s": 1e6}, "read_stall_s 1000000.0 is outside"),
        (
            {"reasoning_tokens": 8, "completion_tokens": 5, "counted_output_tokens": 6},
            "reasoning_tokens 8 is more than the output (6)",
        ),
        ({"reasoning_tokens": 8, "completion_tokens": 5}, "reasoning_tokens 8 is more"),
    ],
    ids=[
        "written-nan",
        "written-inf",
        "written-before-sent",
        "written-after-end",
        "stall-nan",
        "stall-negative",
        "stall-past-the-job",
        "reasoning-past-both-counts",
        "reasoning-past-usage",
    ],
)
async def test_the_clients_own_stamps_are_checked(
    controller: Controller, change: dict[str, object], reason: str
) -> None:
    """``written_s`` and ``read_stall_s`` feed send lag and the client verdict; reasoning tokens
    are part of the output: out of bounds, the batch is refused whole (issue 24 review)."""
    link, job = await leased(controller)
    bad = sample(1).model_copy(update=change)
    await refused(controller, job, link.push_samples(job, 1, 1, [sample(0), bad]), reason)
    sane = {"written_s": sample(1).sent_s, "read_stall_s": 0.0, "reasoning_tokens": 2}
    assert await link.push_samples(job, 1, 1, [sample(0), sample(1).model_copy(update=sane)]) == 2
    await link.close()


async def test_a_usage_past_max_tokens_is_what_the_engine_said_and_is_stored(
    controller: Controller,
) -> None:
    """Refusing it made the agent wait out its flush timeout and the job fail with 0 samples
    kept (issue 24); the results flag it instead (``usage_over_max``)."""
    link, job = await leased(controller)
    over = sample(1).model_copy(update={"completion_tokens": 100_000, "max_tokens": 8})
    assert await link.push_samples(job, 1, 1, [sample(0), over]) == 2
    assert counts(controller)["samples"] == 2
    assert not (await asyncio.to_thread(job_info, controller, job)).flags
    await link.close()


async def test_a_request_is_stored_once_per_attempt_and_a_resent_batch_stays_idempotent(
    controller: Controller,
) -> None:
    link, job = await leased(controller)
    first = [sample(0), sample(1)]
    assert await link.push_samples(job, 1, 1, first) == 2
    assert await link.push_samples(job, 1, 1, first) == 2  # a retransmission: acked, not stored
    assert counts(controller)["samples"] == 2
    again = sample(1).model_copy(update={"completion_tokens": 8, "end_s": 0.35})
    await refused(
        controller,
        job,
        link.push_samples(job, 1, 3, [again]),
        "a request of the batch is already stored",
    )
    await link.close()


def reading(t_s: float, **change: object) -> GpuReading:
    return GpuReading(t_s=t_s, gpu=0, power_w=250.0, energy_mj=1e6 + 250e3 * t_s).model_copy(
        update=change
    )


@pytest.mark.parametrize(
    ("batch", "reason"),
    [
        ([reading(0.1), reading(0.2, power_w=math.nan)], "power_w is nan"),
        ([reading(0.1), reading(0.2, power_w=-500.0)], "power_w is -500.0"),
        ([reading(0.1), reading(0.2, power_w=1e18)], "power_w is 1e+18"),
        ([reading(0.1), reading(0.2, energy_mj=5e5)], "energy counter went back"),
        ([reading(0.1), reading(0.2, energy_mj=1e18)], "energy counter gained"),
        ([reading(0.1), reading(0.2, gpu_util_pct=250.0)], "gpu_util_pct is 250.0"),
        ([reading(0.1), reading(1e5)], "past the job's running time"),
    ],
    ids=[
        "nan-watts",
        "negative-watts",
        "1e18-watts",
        "energy-backwards",
        "energy-jump",
        "util-past-100",
        "past-the-lease",
    ],
)
async def test_impossible_gpu_readings_are_refused_whole(
    controller: Controller, batch: list[GpuReading], reason: str
) -> None:
    link, job = await leased(controller)
    await refused(controller, job, link.push_telemetry(job, 1, 1, batch), reason)
    assert await link.push_telemetry(job, 1, 1, [reading(0.1), reading(0.2)]) == 2
    await link.close()


async def test_an_energy_counter_is_monotonic_across_batches(controller: Controller) -> None:
    link, job = await leased(controller)
    assert await link.push_telemetry(job, 1, 1, [reading(0.1), reading(1.0)]) == 2
    assert await link.push_telemetry(job, 1, 1, [reading(0.1), reading(1.0)]) == 2  # resent
    backwards = [reading(2.0, energy_mj=reading(0.5).energy_mj)]
    await refused(
        controller, job, link.push_telemetry(job, 1, 3, backwards), "energy counter went back"
    )
    assert await link.push_telemetry(job, 1, 3, [reading(2.0)]) == 3
    await link.close()


def stat(mean: float | None = 10.0, std: float | None = 0.5, n: int = 2) -> dict[str, Any]:
    return {"mean": mean, "std": std, "n": n}


@pytest.mark.parametrize(
    ("metrics", "reason"),
    [
        ({VARIANT: {"tg_throughput": stat(mean=math.nan)}}, "tg_throughput: mean is nan"),
        ({VARIANT: {"tg_throughput": stat(mean=math.inf)}}, "tg_throughput: mean is inf"),
        ({VARIANT: {"tg_throughput": stat(n=0)}}, "n is 0"),
        ({VARIANT: {"tg_throughput": stat(std=-1.0)}}, "std is -1.0"),
        ({"pp16/tg9999/d0/c2": {"tg_throughput": stat()}}, "variant 'pp16/tg9999/d0/c2'"),
    ],
    ids=["nan", "inf", "no-values", "negative-std", "variant-not-in-the-job"],
)
async def test_an_impossible_tool_result_is_refused(
    controller: Controller, metrics: dict[str, Any], reason: str
) -> None:
    link, job = await leased(controller)
    push = link.push_tool_result(job, 1, "chat", "llama-benchy", "llama-benchy …", "", metrics)
    await refused(controller, job, push, reason)
    good = {VARIANT: {"tg_throughput": stat()}}
    await link.push_tool_result(job, 1, "chat", "llama-benchy", "llama-benchy …", "", good)
    assert counts(controller)["tool_results"] == 1
    await link.close()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"output_tokens_per_s": math.nan}, "output_tokens_per_s is nan"),
        ({"output_tokens_per_s": -5.0}, "output_tokens_per_s is -5.0"),
        ({"requests_done": -3}, "requests_done is -3"),
        ({"errors": -1}, "errors is -1"),
        ({"remaining_s": 1e12}, "remaining_s is 1e+12 s; at most 1e+07"),
        ({"elapsed_s": 2e7}, "elapsed_s is 2e+07 s; at most 1e+07"),
        ({"completed_benchmarks": {"x" * 201: 1}}, "has an id over 200 characters"),
    ],
    ids=[
        "nan-rate",
        "negative-rate",
        "negative-done",
        "negative-errors",
        "remaining-past-bound",
        "elapsed-past-bound",
        "long-benchmark-id",
    ],
)
async def test_impossible_heartbeat_progress_is_refused(
    controller: Controller, change: dict[str, object], reason: str
) -> None:
    link, job = await leased(controller)
    sane: dict[str, Any] = {
        "job_id": job,
        "attempt": 1,
        "benchmark": "chat",
        "variant": VARIANT,
        "requests_done": 1,
        "requests_total": 2,
        "output_tokens_per_s": 12.5,
    }
    await link.heartbeat([JobProgress(**sane)], draining=False)
    bad = JobProgress(**(sane | change))
    await refused(controller, job, link.heartbeat([bad], draining=False), reason)
    progress = (await asyncio.to_thread(job_info, controller, job)).progress
    assert progress is not None
    assert progress.requests_done == 1 and progress.output_tokens_per_s == 12.5  # kept
    await link.close()
