"""A stand-in for the ``pynvml`` module (the vendor library), for hosts without an NVIDIA GPU.

Each GPU draws a constant power; its energy counter integrates that power over real time
(``time.perf_counter``, the job clock's base), so the counter and the integrated power agree
the way a real GPU's should. A field named in ``unsupported`` raises like NVML's
``NVMLError_NotSupported``. ``sm_mhz_at`` and ``throttle_at`` give the SM clock and the throttle
mask as functions of the seconds since the double was made: a GPU that slows or throttles
part-way through a job (counted from ``nvmlInit``, when the agent starts reading).
"""

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

MIB = 1024**2


class NVMLError(Exception):
    pass


class FakeNvml:
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2
    NVML_TEMPERATURE_GPU = 0

    def __init__(
        self,
        watts: list[float],
        unsupported: frozenset[str] = frozenset(),
        fail_init: str | None = None,
        throttle_mask: int = 0x4,
        event_reasons: bool = True,
        sm_mhz_at: Callable[[float], float] | None = None,
        throttle_at: Callable[[float], int] | None = None,
    ) -> None:
        self.watts = watts
        self.sm_mhz_at = sm_mhz_at
        self.throttle_at = throttle_at
        self.unsupported = unsupported
        self.fail_init = fail_init
        self.throttle_mask = throttle_mask
        self.started = self.initialised = time.perf_counter()
        self.shutdowns = 0
        if not event_reasons:  # an older nvidia-ml-py only knows "throttle reasons"
            self.nvmlDeviceGetCurrentClocksEventReasons = None  # type: ignore[method-assign, assignment]

    def _check(self, field: str) -> None:
        if field in self.unsupported:
            raise NVMLError("Not Supported")

    def nvmlInit(self) -> None:
        if self.fail_init is not None:
            raise NVMLError(self.fail_init)
        self.initialised = time.perf_counter()

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.watts)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        self._check("power")
        return round(self.watts[handle] * 1000)  # milliwatts

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        self._check("energy")
        return round(self.watts[handle] * (time.perf_counter() - self.started) * 1000)  # mJ

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        self._check("utilization")
        return SimpleNamespace(gpu=97, memory=41)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        self._check("memory")
        return SimpleNamespace(total=80 * 1024 * MIB, used=2048 * MIB, free=78 * 1024 * MIB)

    def nvmlDeviceGetClockInfo(self, handle: int, kind: int) -> int:
        self._check("clocks")
        if kind != self.NVML_CLOCK_SM:
            return 3201
        return 1980 if self.sm_mhz_at is None else round(self.sm_mhz_at(self._elapsed()))

    def _elapsed(self) -> float:
        return time.perf_counter() - self.initialised

    def _throttle_mask(self) -> int:
        return self.throttle_mask if self.throttle_at is None else self.throttle_at(self._elapsed())

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        self._check("temperature")
        return 61

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: int) -> int:
        self._check("throttle")
        return self._throttle_mask()

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: int) -> int:
        self._check("throttle")
        return self._throttle_mask()
