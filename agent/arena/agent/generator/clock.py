"""The job's one time axis: every sample time is seconds since the job started."""

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class JobClock:
    """Monotonic seconds since ``origin`` (``time.perf_counter`` at job start, as vLLM times).

    ``wall_origin`` is the wall-clock epoch at the same instant, so a sample time ``t`` happened
    at ``wall_origin + t`` for anyone who needs calendar time (telemetry, logs).
    """

    origin: float = field(default_factory=time.perf_counter)
    wall_origin: float = field(default_factory=time.time)

    def now(self) -> float:
        return time.perf_counter() - self.origin

    def to_wall(self, t: float) -> float:
        return self.wall_origin + t
