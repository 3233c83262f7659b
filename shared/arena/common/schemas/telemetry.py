"""Hardware telemetry as the agent measures it: one reading per GPU per tick.

Times are seconds on the job's clock (``arena.agent.generator.clock.JobClock``), the axis of the
request samples, so a benchmark's time window selects its readings directly. A value the GPU
cannot report is ``None``: absent, never zero.

``GpuReading`` is the only definition of a reading's fields: the controller's ``telemetry``
table (``TelemetryRow``) inherits them and adds its keys and column types.
"""

from pydantic import Field

from arena.common.schemas.base import ArenaModel


class GpuReading(ArenaModel):
    t_s: float
    gpu: int
    """NVML device index."""
    power_w: float | None = None
    energy_mj: float | None = None
    """NVML's total-energy counter: millijoules since the driver loaded."""
    gpu_util_pct: float | None = None
    mem_util_pct: float | None = None
    mem_used_mib: float | None = None
    sm_mhz: float | None = None
    mem_mhz: float | None = None
    temp_c: float | None = None
    throttle_mask: int | None = None
    throttle_reasons: list[str] = Field(default_factory=list)


class TelemetryStatus(ArenaModel):
    """Whether a job had GPU telemetry, and if not, why: stored with the job and shown, so that
    a missing power figure reads as "not measured" and never as zero watts."""

    source: str
    """``nvml`` or ``none``."""
    interval_s: float | None = None
    gpus: int = 0
    reason: str = ""

    @property
    def text(self) -> str:
        if self.source == "none":
            return f"no GPU telemetry ({self.reason})" if self.reason else "no GPU telemetry"
        return f"GPU telemetry: NVML, {self.gpus} GPU(s) every {self.interval_s:g} s"
