"""Real engines under the agent's control: llama.cpp's llama-server as the owner's process
recipe and in a hardened Docker container, the failures that must become results (exit at
start, never healthy, killed mid-run), with nothing left behind, and an image outside the
owner's policy that starts nothing."""

import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from arena.agent.engines.docker import DockerEngineDriver
from arena.agent.engines.logs import EngineLog
from arena.client.api import ArenaClient, RunDetail
from arena.common.policy import refusals
from arena.common.schemas.admission import NOBODY_ADMITS
from arena.common.schemas.engine import DockerEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import ModelSpec
from arena.common.settings import DEV_USER_TOKEN
from tests.llama import IMAGE, MODEL_NAME, build_image
from tests.policy_files import LlamaBox, engine_user, llama_box, write_policy
from tests.prerequisites import docker_running, require
from tests.support import Processes

pytestmark = pytest.mark.slow

AGENT = "engine-agent"
BENCHMARKS = """
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    title: Chat
    pp: [32]
    tg: [16]
    concurrency: [1, 4]
  - kind: open_loop
    id: office
    title: Office
    input_len: 32
    output_len: 16
    num_prompts: 8
    request_rate: [20]
    max_concurrency: 4
"""
EXPECTED_SAMPLES = 1 + 4 + 8
LLAMA_FLAGS = "--port {port} --parallel 4 --metrics -c 4096"


@pytest.fixture(scope="module")
def box() -> Iterator[LlamaBox]:
    with llama_box() as found:
        yield found


@pytest.fixture
def arena(tmp_path: Path, box: LlamaBox) -> Iterator[Processes]:
    policy = write_policy(
        tmp_path,
        {
            "runtimes": ["process", "docker"],
            "models_dir": str(box.models_dir),
            "process": {"recipes": {"llama": box.recipe()}},
            "docker": {"images": [{"repository": IMAGE.split(":")[0]}], "pids_limit": 256},
        },
    )
    processes = Processes(tmp_path)
    try:
        processes.start_controller()
        processes.start_agent(
            AGENT, "--label", "engine=llama", env={"ARENA_POLICY_FILE": str(policy)}
        )
        yield processes
    finally:
        processes.stop_all()


def run_to_end(client: ArenaClient, suite: str, timeout_s: float = 100) -> RunDetail:
    run_id, _ = client.submit(suite, "engines.yaml")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        detail = client.run(run_id)
        if detail.finished:
            return detail
        time.sleep(0.3)
    raise AssertionError(f"run did not finish: {client.run(run_id)}")


def test_llama_server_as_a_process(arena: Processes, box: LlamaBox) -> None:
    suite = (
        f"""
name: llama-process
models:
  - name: {MODEL_NAME}
    engine: llama
engines:
  llama:
    runtime: process
    recipe: llama
    args: {{ctx: 4096}}
    served_model_name: tiny
    startup_timeout_s: 60
"""
        + BENCHMARKS
    )
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        detail = run_to_end(client, suite)
        [job] = detail.jobs
        assert job.state == "succeeded", (job.message, arena.log(AGENT))
        assert job.samples == EXPECTED_SAMPLES
        results = client.results(detail.run.run_id)
        logs = client.logs(job.job_id)
    [result] = results.jobs
    assert not result.simulated
    provenance = result.provenance
    assert provenance["runtime"] == "process" and provenance["recipe"] == "llama"
    assert provenance["user"] == engine_user()
    assert str(box.binary) in provenance["command"] and "--parallel 4" in provenance["command"]
    assert provenance["engine_version"].startswith("b")  # llama-server's build_info
    assert provenance["start_to_healthy_s"] > 0
    assert provenance["sanity"]["completion_tokens"] > 0
    # the engine's own timings sit beside the client's
    chat_bench, office_bench = result.benchmarks
    assert chat_bench.engine_metrics["generation_tokens"] > 0
    assert office_bench.engine_metrics["ms_per_generated_token"] > 0
    assert any("llama" in line or "server" in line for line in logs)
    chat = {v.key: v for v in chat_bench.variants}
    # tokens of a tiny model can arrive in one read on a busy machine, leaving generation
    # speed undefined; time to first response and batch prefill are always measured
    for measured in ("ttfr", "pp_throughput"):
        mean = chat["pp32/tg16/d0/c4"].metrics[measured].mean
        assert mean is not None and mean > 0, measured


@pytest.fixture(scope="module")
def image(box: LlamaBox) -> str:
    require(docker_running(), "a Docker daemon (docker.io, dockerd running)")
    return build_image(box.binary)


def containers_of(agent: str) -> list[object]:
    client = docker.from_env(version="auto")
    try:
        return list(client.containers.list(all=True, filters={"label": f"arena.agent={agent}"}))
    finally:
        client.close()


def docker_engine(
    name: str, command: str, timeout_s: int = 60, image: str = "arena-llama-server:test"
) -> str:
    return f"""
  {name}:
    runtime: docker
    image: {image}
    pull: never
    port: 8080
    command: "{command}"
    startup_timeout_s: {timeout_s}"""


def llama_in_container(box: LlamaBox, model: str = MODEL_NAME) -> str:
    """The models folder is mounted read-only at its own path: the only host path there is."""
    model_path = box.models_dir / model
    return f"/usr/local/bin/llama-server --model {model_path} --host 0.0.0.0 {LLAMA_FLAGS}"


@pytest.mark.docker
def test_llama_server_in_a_container(arena: Processes, image: str, box: LlamaBox) -> None:
    suite = (
        "name: llama-docker\nmodels:\n  - name: tiny\n    engine: llama\nengines:"
        + docker_engine("llama", llama_in_container(box))
        + "\n"
        + BENCHMARKS
    )
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        run_id, _ = client.submit(suite, "engines.yaml")
        host_config = None
        deadline = time.monotonic() + 100
        while not (detail := client.run(run_id)).finished:
            assert time.monotonic() < deadline, detail
            for container in containers_of(AGENT) if host_config is None else []:
                host_config = container.attrs["HostConfig"]  # type: ignore[attr-defined]
            time.sleep(0.3)
        [job] = detail.jobs
        assert job.state == "succeeded", (job.message, arena.log(AGENT))
        assert job.samples == EXPECTED_SAMPLES
        [result] = client.results(detail.run.run_id).jobs
    assert result.provenance["runtime"] == "docker"
    assert result.provenance["image_id"].startswith("sha256:")
    assert result.provenance["start_to_healthy_s"] > 0
    assert containers_of(AGENT) == []
    assert host_config is not None, "the container was never seen running"
    assert host_config["Privileged"] is False
    assert host_config["CapDrop"] == ["ALL"] and not host_config["CapAdd"]
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert host_config["PidsLimit"] == 256
    assert host_config["Binds"] == [f"{box.models_dir}:{box.models_dir}:ro"]


@pytest.mark.docker
def test_an_image_outside_the_policy_starts_nothing(arena: Processes, image: str) -> None:
    """The owner allows arena-llama-server only: any other image is refused before a pull."""
    suite = (
        "name: other-image\nmodels:\n  - name: tiny\n    engine: other\nengines:"
        + docker_engine("other", "/bin/sh -c 'cat /etc/shadow' {port}", image="alpine:3")
        + "\n"
        + BENCHMARKS
    )
    created = []
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        run_id, _ = client.submit(suite, "other.yaml")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            [job] = client.run(run_id).jobs
            created += containers_of(AGENT)
            if job.state != "queued" or NOBODY_ADMITS in job.message:
                break
            time.sleep(0.2)
        settle = time.monotonic() + 3  # an agent wrongly leased the job would start it now
        while time.monotonic() < settle:
            created += containers_of(AGENT)
            time.sleep(0.2)
        [job] = client.run(run_id).jobs
    assert created == []
    # the controller knows the agent's policy: it never leases the job, and says why
    reason = "image alpine is not allowed (allowed: arena-llama-server)"
    assert job.state == "queued" and f"{NOBODY_ADMITS}: {AGENT}: {reason}" in job.message, job


@pytest.mark.docker
@pytest.mark.timeout(600)
def test_engine_failures_are_results_and_leave_nothing_behind(
    arena: Processes, image: str, box: LlamaBox
) -> None:
    good = llama_in_container(box)
    # the victim needs a benchmark long enough to be killed in the middle of it
    failing = (
        "name: llama-failures\nmodels:\n"
        "  - {name: exits, engine: exits}\n"
        "  - {name: silent, engine: silent}\n"
        "  - {name: killed, engine: killed}\n"
        "engines:"
        + docker_engine("exits", llama_in_container(box, "missing.gguf"))
        + docker_engine("silent", "/bin/sleep 3600 {port}", timeout_s=5)
        + docker_engine("killed", good)
        + "\nruns: 5\nbenchmarks:\n  - kind: closed_loop\n    id: long\n    pp: [32]\n"
        "    tg: [2000]\n    concurrency: [4]\n    latency_mode: none\n"
    )
    afterwards = (
        "name: llama-next\nmodels:\n  - {name: fine, engine: fine}\nengines:"
        + docker_engine("fine", good)
        + "\n"
        + BENCHMARKS
    )
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        run_id, _ = client.submit(failing, "failures.yaml")
        next_run, _ = client.submit(afterwards, "next.yaml")
        killed_at = None
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            detail = client.run(run_id)
            jobs = {job.model: job for job in detail.jobs}
            victim = jobs["killed"]
            if killed_at is None and victim.state == "running" and victim.samples > 0:
                for container in containers_of(AGENT):
                    container.kill()  # type: ignore[attr-defined]
                killed_at = time.monotonic()
            if detail.finished and client.run(next_run).finished:
                break
            time.sleep(0.2)
        jobs["fine"] = client.run(next_run).jobs[0]
    assert killed_at is not None, "the job to kill never produced samples"
    assert jobs["exits"].state == "failed"
    assert "exited with code" in jobs["exits"].message
    assert "missing.gguf" in jobs["exits"].message  # the engine's own last lines say why
    assert jobs["silent"].state == "failed"
    assert "not healthy after 5 s" in jobs["silent"].message
    assert jobs["killed"].state == "failed"
    assert "engine container exited with code 137" in jobs["killed"].message
    assert jobs["fine"].state == "succeeded", jobs["fine"].message
    assert containers_of(AGENT) == []


@pytest.mark.docker
async def test_an_image_pinned_to_its_digest_runs_hardened(image: str, box: LlamaBox) -> None:
    """An image built on the box has no repository digest: the owner pins its id."""
    client = docker.from_env(version="auto")
    try:
        image_id = client.images.get(image).id
    finally:
        client.close()
    repository = image.split(":")[0]
    policy = AgentPolicy.model_validate(
        {
            "runtimes": ["docker"],
            "models_dir": str(box.models_dir),
            "docker": {"images": [{"repository": repository, "digest": image_id}]},
        }
    )
    model = ModelSpec(name="tiny", engine="e")

    def pinned(reference: str) -> DockerEngine:
        return DockerEngine(
            runtime="docker", image=reference, pull="never", command="/bin/sleep 600 {port}"
        )

    assert refusals(policy, pinned(image), model) == [
        f"image {image} must be pinned to the digest the policy lists for {repository}"
    ]
    engine = DockerEngineDriver(
        pinned(f"{repository}@{image_id}"), model, EngineLog(), "pinned-agent", "job-pinned", policy
    )
    try:
        await engine.start()
        assert engine.provenance()["image_id"] == image_id
        [container] = containers_of("pinned-agent")
        assert container.attrs["HostConfig"]["CapDrop"] == ["ALL"]  # type: ignore[attr-defined]
    finally:
        await engine.stop()
    assert containers_of("pinned-agent") == []
