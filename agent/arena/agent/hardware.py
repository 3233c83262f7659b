"""Probe what this box is: NVML for NVIDIA GPUs, the OS for everything else."""

import os
import platform
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil
import structlog

from arena.common.schemas.agent import GpuInfo, HardwareInfo

log = structlog.get_logger(__name__)

GIB = 1024**3
T = TypeVar("T")


def probe() -> HardwareInfo:
    return HardwareInfo(
        cpu_model=_cpu_model(),
        cpu_arch=platform.machine(),
        cpu_cores=psutil.cpu_count(logical=True) or 1,
        ram_gb=round(psutil.virtual_memory().total / GIB, 1),
        os=_os_name(),
        kernel=platform.release(),
        hostname=socket.gethostname(),
        gpus=probe_gpus(),
        container_runtime=_container_runtime(),
    )


def probe_gpus() -> list[GpuInfo]:
    """NVIDIA GPUs through NVML; an empty list when there is no driver or no GPU."""
    try:
        import pynvml  # nvidia-ml-py

        pynvml.nvmlInit()
    except Exception as error:  # no library, no driver, no device: all mean "no NVIDIA GPU"
        log.debug("no NVML", reason=str(error))
        return []
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        cuda = _cuda_version(pynvml)
        return [_gpu(pynvml, index, driver, cuda) for index in range(pynvml.nvmlDeviceGetCount())]
    finally:
        pynvml.nvmlShutdown()


def _gpu(nv: Any, index: int, driver: str, cuda: str | None) -> GpuInfo:
    handle = nv.nvmlDeviceGetHandleByIndex(index)
    unified = False
    try:
        memory_gb = nv.nvmlDeviceGetMemoryInfo(handle).total / GIB
    except Exception:  # GB10 and other unified-memory parts report no dedicated memory
        memory_gb, unified = psutil.virtual_memory().total / GIB, True
    return GpuInfo(
        name=_text(nv.nvmlDeviceGetName(handle)),
        memory_gb=round(memory_gb, 1),
        unified_memory=unified,
        compute_capability=_optional(
            lambda: "{}.{}".format(*nv.nvmlDeviceGetCudaComputeCapability(handle))
        ),
        driver=driver,
        cuda=cuda,
        vbios=_optional(lambda: _text(nv.nvmlDeviceGetVbiosVersion(handle))),
        power_limit_w=_optional(lambda: nv.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0),
    )


def _cuda_version(pynvml: Any) -> str | None:
    version = _optional(lambda: pynvml.nvmlSystemGetCudaDriverVersion_v2())
    return None if version is None else f"{version // 1000}.{version % 1000 // 10}"


def _optional(read: Callable[[], T]) -> T | None:
    """Some NVML queries are unsupported on some parts; absent beats a crash."""
    try:
        return read()
    except Exception:
        return None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model", "Hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _os_name() -> str:
    try:
        release = platform.freedesktop_os_release()
        return release.get("PRETTY_NAME", release.get("NAME", "Linux"))
    except OSError:
        return f"{platform.system()} {os.uname().release}"


DOCKER_SOCKET = "/var/run/docker.sock"


def _container_runtime() -> str | None:
    """``docker`` when a daemon answers on its socket: a socket file left by a stopped daemon
    is not a runtime the agent can use."""
    if not shutil.which("docker"):
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(DOCKER_SOCKET)
        except OSError:
            return None
    return "docker"
