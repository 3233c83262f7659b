"""An engine in a Docker container, through the docker SDK.

The container is never privileged, drops every capability, cannot gain new privileges, has the
policy's pid, memory and CPU limits, sees only the policy's models folder (read-only) of the
host and only the job's declared environment. An image the policy pins to a digest must have
that digest once it is local (a repository digest or the image id), or nothing starts.

Every container carries ``arena.agent`` and ``arena.job`` labels, so an agent restarted after a
crash removes the containers it owned (``reap_orphans``). The published port is bound to
127.0.0.1 on a free host port. Exit and OOM kill are read from the container state.
"""

import asyncio
import contextlib
import threading
import time
from typing import Any

import docker
import docker.errors
import structlog
from docker.models.containers import Container
from docker.types import DeviceRequest

from arena.agent.engines.base import LaunchedEngineBase
from arena.agent.engines.command import LaunchSpec, launch_spec
from arena.agent.engines.logs import EngineLog
from arena.common.errors import EngineError, PolicyError
from arena.common.policy import REFUSED, split_image
from arena.common.schemas.engine import DockerEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import ModelSpec

log = structlog.get_logger(__name__)

AGENT_LABEL = "arena.agent"
JOB_LABEL = "arena.job"
STOP_GRACE_S = 10


def docker_client() -> docker.DockerClient:
    try:
        return docker.from_env(version="auto")
    except docker.errors.DockerException as error:
        raise EngineError(f"cannot reach the Docker daemon: {error}") from error


class DockerEngineDriver(LaunchedEngineBase):
    profile: DockerEngine

    def __init__(
        self,
        profile: DockerEngine,
        model: ModelSpec,
        engine_log: EngineLog,
        agent_name: str,
        job_id: str,
        policy: AgentPolicy,
    ) -> None:
        self.profile = profile
        self.model = model
        self.log = engine_log
        self.labels = {AGENT_LABEL: agent_name, JOB_LABEL: job_id}
        self.launch: LaunchSpec = launch_spec(profile, model, profile.port, policy)
        self.policy = policy
        self.base_url = ""
        self.api_key: str | None = None
        self._client: docker.DockerClient | None = None
        self._container: Container | None = None
        self._image: dict[str, Any] = {}
        self._started_at = 0.0
        self._ready_s: float | None = None
        self._log_thread: threading.Thread | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self._start)
        self._log_thread = threading.Thread(target=self._follow_logs, daemon=True)
        self._log_thread.start()

    def _start(self) -> None:
        self._client = docker_client()
        image = self._resolve_image(self._client)
        problem = pin_problem(self.profile.image, image.id, image.attrs.get("RepoDigests", []))
        if problem:
            raise PolicyError(f"{REFUSED}: {problem}")
        self._image = {
            "image": self.profile.image,
            "image_id": image.id,
            "repo_digests": image.attrs.get("RepoDigests", []),
        }
        self._started_at = time.monotonic()
        try:
            self._container = self._client.containers.run(
                image.id,
                command=self.launch.argv,
                detach=True,
                environment=self.launch.env,
                labels=self.labels,
                ports={f"{self.profile.port}/tcp": ("127.0.0.1", None)},
                device_requests=_device_requests(self.profile.gpus),
                shm_size=self.profile.shm_size,
                volumes=_models_mount(self.policy.models_dir),
                **hardening(self.policy),
            )
        except docker.errors.APIError as error:
            raise EngineError(f"docker could not start {self.profile.image}: {error}") from error
        self._container.reload()
        binding = self._container.ports.get(f"{self.profile.port}/tcp") or []
        if not binding:  # it exited before its port was published: the same failure as later
            self._container.reload()
            code = self._container.attrs["State"].get("ExitCode")
            self._read_all_logs()
            raise EngineError(self.log.explain(f"engine container exited with code {code}"))
        self.base_url = f"http://127.0.0.1:{binding[0]['HostPort']}"
        log.info(
            "engine container started",
            container=self._container.short_id,
            image=self.profile.image,
            url=self.base_url,
        )

    def _resolve_image(self, client: docker.DockerClient) -> Any:
        name, pull = self.profile.image, self.profile.pull
        if pull != "always":
            with contextlib.suppress(docker.errors.ImageNotFound):
                return client.images.get(name)
            local = _local_by_id(client, name)
            if local is not None:
                return local
            if pull == "never":
                raise EngineError(f"image {name} is not present locally (pull: never)")
        log.info("pulling image", image=name)
        try:
            for event in client.api.pull(name, stream=True, decode=True):
                if "status" in event and "progress" not in event:
                    self.log.append(f"pull: {event['status']} {event.get('id', '')}".strip())
            return client.images.get(name)
        except docker.errors.DockerException as error:
            raise EngineError(f"cannot pull {name}: {error}") from error

    def _read_all_logs(self) -> None:
        """The log of a container that exited before its log was followed."""
        assert self._container is not None
        with contextlib.suppress(docker.errors.DockerException):
            for line in self._container.logs().decode(errors="replace").splitlines():
                self.log.append(line)

    def _follow_logs(self) -> None:
        container = self._container
        if container is None:
            return
        with contextlib.suppress(docker.errors.DockerException, OSError):
            buffer = b""
            for chunk in container.logs(stream=True, follow=True):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self.log.append(line.decode(errors="replace"))
            if buffer:
                self.log.append(buffer.decode(errors="replace"))

    async def check(self) -> None:
        if self._container is None:
            return
        state = await asyncio.to_thread(self._state)
        if state.get("Status") in ("exited", "dead"):
            await asyncio.to_thread(self._drain_logs)
            if state.get("OOMKilled"):
                reason = "engine container was OOM-killed"
            else:
                reason = f"engine container exited with code {state.get('ExitCode')}"
            raise EngineError(self.log.explain(reason))

    def _state(self) -> dict[str, Any]:
        assert self._container is not None
        try:
            self._container.reload()
        except docker.errors.NotFound:
            return {"Status": "dead", "ExitCode": None}
        return dict(self._container.attrs["State"])

    def _drain_logs(self) -> None:
        if self._log_thread is not None:
            self._log_thread.join(timeout=2)

    async def stop(self) -> None:
        await asyncio.to_thread(self._remove)

    def _remove(self) -> None:
        container = self._container
        if container is None:
            return
        with contextlib.suppress(docker.errors.NotFound):
            container.stop(timeout=STOP_GRACE_S)
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
        self._drain_logs()
        if self._client is not None:
            self._client.close()
        log.info("engine container removed", container=container.short_id)

    def provenance(self) -> dict[str, Any]:
        return {
            "runtime": "docker",
            **self._image,
            "container": self._container.short_id if self._container else None,
            "command": self.launch.command_line,
            "env": self.launch.recorded_env,
            "gpus": self.profile.gpus,
            "model": self.model.name,
            "model_revision": self.model.revision,
            "served_model_name": self.launch.served_model_name,
            "start_to_healthy_s": self._ready_s,
        }


def _device_requests(gpus: object) -> list[DeviceRequest] | None:
    if gpus is None:
        return None
    if gpus == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if isinstance(gpus, int):
        return [DeviceRequest(count=gpus, capabilities=[["gpu"]])]
    return [DeviceRequest(device_ids=list(gpus), capabilities=[["gpu"]])]  # type: ignore[call-overload]


def hardening(policy: AgentPolicy) -> dict[str, Any]:
    """What every engine container runs under, whatever the suite asks."""
    limits = policy.docker
    return {
        "privileged": False,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": limits.pids_limit,
        "mem_limit": limits.memory,
        "nano_cpus": round(limits.cpus * 1e9) if limits.cpus else None,
    }


def pin_problem(image: str, image_id: str, repo_digests: list[str]) -> str | None:
    """Why the local image is not the one a pinned reference names; None when it is (or when
    nothing is pinned: the policy only pins through the reference, ``refusals`` checks that)."""
    _, digest = split_image(image)
    if digest is None:
        return None
    held = {image_id} | {entry.partition("@")[2] for entry in repo_digests}
    if digest in held:
        return None
    return f"the local image for {image} does not have digest {digest}"


def _local_by_id(client: docker.DockerClient, image: str) -> Any:
    """A local image pinned by its id (``repo@sha256:<image id>``, an image built on this box,
    which has no repository digest), when it is tagged in that repository; else None."""
    repository, digest = split_image(image)
    if digest is None:
        return None
    try:
        found = client.images.get(digest)
    except docker.errors.DockerException:
        return None
    return found if any(split_image(tag)[0] == repository for tag in found.tags) else None


def _models_mount(models_dir: str | None) -> dict[str, dict[str, str]] | None:
    """The policy's models folder, read-only at the same path: the only host path mounted."""
    return {models_dir: {"bind": models_dir, "mode": "ro"}} if models_dir else None


def reap_orphans(agent_name: str) -> int:
    """Remove containers this agent owned before a restart; returns how many."""
    try:
        client = docker_client()
    except EngineError:
        return 0
    try:
        orphans = client.containers.list(all=True, filters={"label": f"{AGENT_LABEL}={agent_name}"})
        for container in orphans:
            log.warning(
                "removing an orphaned engine container",
                container=container.short_id,
                job=container.labels.get(JOB_LABEL),
            )
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        return len(orphans)
    finally:
        client.close()
