"""Read one tick of GPU telemetry through NVML (nvidia-ml-py's ``pynvml``).

The NVML module is a parameter: the agent passes the real ``pynvml``; a host without the
library, the driver or a GPU gets a reason instead of a reader, and says so explicitly. A
field one GPU does not support reads as ``None``, never as zero.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import structlog

from arena.common.schemas.telemetry import GpuReading

log = structlog.get_logger(__name__)

T = TypeVar("T")
MIB = 1024**2

THROTTLE_REASONS = (
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks_setting"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal_slowdown"),
    (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"),
    (0x100, "display_clock_setting"),
)
"""NVML's clock throttle ("clocks event") reason bits, by name."""

# NVML enum values (nvml.h); read from the module when it has them
CLOCK_SM, CLOCK_MEM, TEMPERATURE_GPU = 1, 2, 0


def decode_throttle(mask: int) -> list[str]:
    """The set bits by name; an unknown bit keeps its hex value, so nothing is hidden."""
    names = [name for bit, name in THROTTLE_REASONS if mask & bit]
    known = sum(bit for bit, _ in THROTTLE_REASONS)
    if unknown := mask & ~known:
        names.append(f"other_{unknown:#x}")
    return names


class NvmlReader:
    """An initialised NVML session with every GPU's handle; ``close`` shuts NVML down."""

    def __init__(self, nv: Any) -> None:
        self._nv = nv
        self._handles = [nv.nvmlDeviceGetHandleByIndex(i) for i in range(nv.nvmlDeviceGetCount())]

    @property
    def gpus(self) -> int:
        return len(self._handles)

    def read(self, t_s: float) -> list[GpuReading]:
        """One reading per GPU, all stamped ``t_s`` (the tick's time on the job clock)."""
        return [self._reading(index, handle, t_s) for index, handle in enumerate(self._handles)]

    def _reading(self, index: int, handle: Any, t_s: float) -> GpuReading:
        nv = self._nv
        utilisation = _optional(lambda: nv.nvmlDeviceGetUtilizationRates(handle))
        mask = _optional(lambda: int(self._throttle(handle)))
        return GpuReading(
            t_s=t_s,
            gpu=index,
            power_w=_optional(lambda: nv.nvmlDeviceGetPowerUsage(handle) / 1000.0),
            energy_mj=_optional(lambda: float(nv.nvmlDeviceGetTotalEnergyConsumption(handle))),
            gpu_util_pct=_optional(lambda: float(utilisation.gpu)) if utilisation else None,
            mem_util_pct=_optional(lambda: float(utilisation.memory)) if utilisation else None,
            mem_used_mib=_optional(lambda: nv.nvmlDeviceGetMemoryInfo(handle).used / MIB),
            sm_mhz=_optional(
                lambda: float(nv.nvmlDeviceGetClockInfo(handle, _const(nv, "NVML_CLOCK_SM")))
            ),
            mem_mhz=_optional(
                lambda: float(nv.nvmlDeviceGetClockInfo(handle, _const(nv, "NVML_CLOCK_MEM")))
            ),
            temp_c=_optional(
                lambda: float(
                    nv.nvmlDeviceGetTemperature(handle, _const(nv, "NVML_TEMPERATURE_GPU"))
                )
            ),
            throttle_mask=mask,
            throttle_reasons=decode_throttle(mask) if mask is not None else [],
        )

    def _throttle(self, handle: Any) -> Any:
        """Newer drivers call them clock event reasons; older ones throttle reasons."""
        read = getattr(self._nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if read is not None:
            try:
                return read(handle)
            except Exception:  # an older driver under a newer library
                pass
        return self._nv.nvmlDeviceGetCurrentClocksThrottleReasons(handle)

    def close(self) -> None:
        _optional(self._nv.nvmlShutdown)


def open_nvml(nv: Any | None = None) -> NvmlReader | str:
    """A reader over every NVIDIA GPU, or why there is none (no library, driver or GPU)."""
    try:
        module = nv if nv is not None else _import_pynvml()
        module.nvmlInit()
    except Exception as error:
        log.info("no GPU telemetry", reason=str(error) or type(error).__name__)
        return f"NVML unavailable: {error or type(error).__name__}"
    try:
        reader = NvmlReader(module)
    except Exception as error:
        _optional(module.nvmlShutdown)
        return f"NVML could not list GPUs: {error or type(error).__name__}"
    if reader.gpus == 0:
        reader.close()
        return "NVML found no GPU"
    return reader


def _import_pynvml() -> Any:
    import pynvml  # nvidia-ml-py; imported late so a host without it still runs

    return pynvml


def _const(nv: Any, name: str) -> int:
    defaults = {
        "NVML_CLOCK_SM": CLOCK_SM,
        "NVML_CLOCK_MEM": CLOCK_MEM,
        "NVML_TEMPERATURE_GPU": TEMPERATURE_GPU,
    }
    return int(getattr(nv, name, defaults[name]))


def _optional(read: Callable[[], T]) -> T | None:
    """Unsupported on this GPU (NVMLError_NotSupported and kin): absent, not zero."""
    try:
        return read()
    except Exception:
        return None
