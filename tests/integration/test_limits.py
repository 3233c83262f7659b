"""Limits and sample sanity against a real controller on loopback: every refusal returns its
gRPC status and stores nothing (row counts before and after)."""

import asyncio
import math
import sqlite3
from pathlib import Path

import grpc
import pytest
from grpc_status import rpc_status

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.client.api import ArenaClient
from arena.common.errors import InvalidRequestError, RateLimitedError, SuiteError, TooLargeError
from arena.common.pb.arena.v2 import agent_pb2, agent_pb2_grpc
from arena.common.schemas.job import JobState
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.integration.test_protocol import SUITE, address, registered, sample, submit

TABLES = ("suites", "runs", "jobs", "samples", "aggregates", "job_logs")


def counts(controller: Controller) -> dict[str, int]:
    with sqlite3.connect(controller.settings.data_dir / "arena.db") as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def submit_text(controller: Controller, text: str) -> None:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        client.submit(text, "bad.yaml")


async def refused_suite(controller: Controller, text: str) -> SuiteError:
    before = counts(controller)
    with pytest.raises(SuiteError) as caught:
        await asyncio.to_thread(submit_text, controller, text)
    assert counts(controller) == before
    return caught.value


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]"
        for i in range(8)
    ]
    + ["name: bomb"]
)


async def test_a_billion_laughs_suite_is_refused(controller: Controller) -> None:
    error = await refused_suite(controller, BILLION_LAUGHS)
    assert "aliases" in str(error)


async def test_a_10k_deep_suite_is_refused_with_its_line(controller: Controller) -> None:
    deep = "name: deep\nx: " + "[" * 10_000 + "]" * 10_000 + "\n"
    error = await refused_suite(controller, deep)
    assert "nested deeper than 64 levels" in str(error)
    assert error.line == 2


async def test_a_suite_past_the_bounds_is_refused_on_its_lines(
    controller: Controller,
) -> None:
    text = SUITE.format(target="any", labels="{}").replace(
        "concurrency: [2]", "concurrency: [9000]"
    )
    text = text.replace("pp: [16]", "pp: [2000000]")
    error = await refused_suite(controller, text)
    found = {(problem.field, problem.line) for problem in error.errors}
    lines = text.splitlines()
    assert ("benchmarks[0].concurrency", 1 + lines.index("    concurrency: [9000]")) in found
    assert ("benchmarks[0].pp", 1 + lines.index("    pp: [2000000]")) in found


@pytest.mark.parametrize(
    ("value", "field"),
    [("plain-Secret-value", "env.HF_TOKEN"), ("hf_" + "x" * 30, "")],
    ids=["named-like-a-secret", "shaped-like-a-token"],
)
async def test_a_literal_secret_in_a_suite_is_refused(
    controller: Controller, value: str, field: str
) -> None:
    text = SUITE.format(target="any", labels="{}").replace(
        "    runtime: simulated",
        f"    runtime: process\n    recipe: serve\n    env: {{HF_TOKEN: {value}}}",
    )
    error = await refused_suite(controller, text)
    problem = error.errors[0]
    assert problem.field.endswith(field) and problem.line == 1 + text.splitlines().index(
        f"    env: {{HF_TOKEN: {value}}}"
    )
    assert value not in str(error)


async def leased(controller: Controller, name: str = "box-1") -> tuple[ControllerLink, str]:
    await submit(controller)
    link = await registered(controller, name)
    lease = await link.lease(wait_s=1)
    assert lease is not None
    await link.report(lease.job_id, 1, JobState.RUNNING, clock_origin_unix=1.0)
    return link, lease.job_id


def flags_of(controller: Controller, job_id: str) -> list[str]:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        return client.job(job_id).job.flags


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"end_s": 0.05}, "end_s (0.050000) is before first_token_s"),
        ({"first_token_s": math.nan}, "first_token_s is nan"),
        ({"sent_s": math.inf}, "sent_s is inf"),
        ({"completion_tokens": -3}, "completion_tokens -3 is outside"),
        ({"end_s": 1e6, "chunk_times_s": [0.2, 1e6]}, "past the job's running time"),
        ({"benchmark": "nope"}, "benchmark 'nope' is not in the job"),
    ],
    ids=["out-of-order", "nan", "inf", "negative-tokens", "past-the-lease", "unknown-benchmark"],
)
async def test_an_impossible_sample_refuses_the_whole_batch_and_flags_the_job(
    controller: Controller, change: dict[str, object], reason: str
) -> None:
    link, job = await leased(controller)
    good = [sample(i) for i in range(3)]
    bad = sample(3).model_copy(update=change)
    before = counts(controller)
    with pytest.raises(InvalidRequestError, match="samples refused") as caught:
        await link.push_samples(job, 1, 1, [*good, bad])
    assert reason in str(caught.value)
    assert counts(controller) == before  # not even the good samples of the batch
    flags = await asyncio.to_thread(flags_of, controller, job)
    assert len(flags) == 1 and reason in flags[0]
    assert await link.push_samples(job, 1, 1, good) == 3  # a sane batch still goes in
    await link.close()


async def test_an_oversized_message_is_refused_by_grpc(tmp_path: Path) -> None:
    settings = ControllerSettings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "c",
        max_message_bytes=64 * 1024,
    )
    async with Controller(settings) as controller:
        link, job = await leased(controller)
        before = counts(controller)
        huge = sample(0).model_copy(update={"error": "x" * 100_000})
        with pytest.raises(TooLargeError):  # RESOURCE_EXHAUSTED without details
            await link.push_samples(job, 1, 1, [huge])
        assert counts(controller) == before
        await link.close()


async def test_an_agent_message_past_its_method_cap_is_refused(tmp_path: Path) -> None:
    settings = ControllerSettings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "c",
        max_agent_message_bytes=32 * 1024,
    )
    async with Controller(settings) as controller:
        link, job = await leased(controller)
        before = counts(controller)
        with pytest.raises(TooLargeError, match="PushLogs: message of"):
            await link.push_logs(job, 1, 1, ["y" * 1000] * 100)
        assert counts(controller) == before
        await link.close()


async def test_an_agent_past_its_rate_limit_is_told_when_to_retry(tmp_path: Path) -> None:
    """A bucket of 3 that refills one call per 20 s: the fourth call is refused whatever the
    machine's load (the refill after the delay is the unit test's, on a clock it controls)."""
    settings = ControllerSettings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "c",
        agent_rate_per_s=0.05,
        agent_burst=3,
    )
    async with Controller(settings) as controller:
        link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
        await link.register("chatty", probe(), {}, {})  # keyed by name: a bucket of its own
        for _ in range(3):  # the burst
            await link.lease(wait_s=0)
        async with grpc.aio.insecure_channel(address(controller)) as channel:
            stub = agent_pb2_grpc.AgentServiceStub(channel)
            metadata = (("authorization", f"Bearer {DEV_AGENT_TOKEN}"),)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                request = agent_pb2.LeaseJobRequest(agent_id=link.agent_id, wait_s=0)
                await stub.LeaseJob(request, metadata=metadata)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert rpc_status.from_call(caught.value) is not None
        with pytest.raises(RateLimitedError) as limited:
            await link.lease(wait_s=0)
        assert 0 < limited.value.retry_after_s <= 20
        other = ControllerLink(address(controller), DEV_AGENT_TOKEN)
        await other.register("quiet", probe(), {}, {})  # another agent has its own bucket
        await other.lease(wait_s=0)
        await link.close()
        await other.close()
