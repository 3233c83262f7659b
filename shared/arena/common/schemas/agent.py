"""What an agent says about itself when it registers, and what the controller makes of its
silence."""

from enum import StrEnum

from pydantic import Field

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.policy import AgentPolicy


class AgentStatus(StrEnum):
    """How recently the controller heard from an agent (draining is apart: a bool)."""

    ONLINE = "online"
    """Its heartbeats arrive."""
    DISCONNECTED = "disconnected"
    """It missed a few heartbeats; its job goes on."""
    LOST = "lost"
    """Silent longer than a lease: its job was requeued."""


class GpuInfo(ArenaModel):
    name: str
    memory_gb: float
    unified_memory: bool = False
    compute_capability: str | None = None
    driver: str | None = None
    cuda: str | None = None
    vbios: str | None = None
    power_limit_w: float | None = None


class ClientHeadroom(ArenaModel):
    """How hard the agent's built-in client can drive a server on this box, measured at agent
    start against a local instant server (``arena.agent.headroom``): the highest request rate
    and the most streams open at once with p99 send lag and loop lag under ``lag_limit_ms``.
    ``None``: even the first step failed. ``lower_bound``: the search ran out of time first."""

    requests_per_s: float | None = Field(None, ge=0, le=1e7)
    streams: int | None = Field(None, ge=0, le=10_000_000)
    lag_limit_ms: float = Field(1.0, gt=0, le=1000)
    lower_bound: bool = False

    def used_pct(self, rate: float | None = None, streams: int | None = None) -> float | None:
        """A run's share of this headroom, in %: the larger of its request rate over
        ``requests_per_s`` and its streams open at once over ``streams``; None when neither
        can be compared (an unbounded rate alone, a figure not measured)."""
        shares = []
        if rate is not None and rate != float("inf") and self.requests_per_s:
            shares.append(rate / self.requests_per_s)
        if streams is not None and self.streams:
            shares.append(streams / self.streams)
        return max(shares) * 100 if shares else None

    @property
    def summary(self) -> str:
        at_least = "≥" if self.lower_bound else ""
        rate = f"{at_least}{self.requests_per_s:,.0f} req/s" if self.requests_per_s else "? req/s"
        streams = f"{at_least}{self.streams:,} streams" if self.streams else "? streams"
        return f"{rate}, {streams}"


class HardwareInfo(ArenaModel):
    cpu_model: str
    cpu_arch: str
    cpu_cores: int
    ram_gb: float
    os: str
    kernel: str
    hostname: str
    gpus: list[GpuInfo] = []
    container_runtime: str | None = None
    client_headroom: ClientHeadroom | None = None
    """Measured at agent start unless its settings skip it; not part of the box's identity."""

    @property
    def vram_gb(self) -> float:
        """Memory of the largest GPU (unified memory counts); 0 without a GPU."""
        return max((g.memory_gb for g in self.gpus), default=0.0)

    @property
    def summary(self) -> str:
        if self.gpus:
            counts = f"{len(self.gpus)}x " if len(self.gpus) > 1 else ""
            return f"{counts}{self.gpus[0].name} ({self.gpus[0].memory_gb:.0f} GB)"
        return f"CPU {self.cpu_model} ({self.cpu_cores} cores, {self.ram_gb:.0f} GB)"


class AgentInfo(ArenaModel):
    """An agent as the listings show it (``arenactl agents``, the dashboard's agents page)."""

    agent_id: str
    name: str
    status: AgentStatus
    hardware: HardwareInfo
    labels: dict[str, str]
    last_seen_unix: float
    draining: bool
    current_job: str
    trust: str = ""
    key_sha256: str = ""
    policy: AgentPolicy | None = None
    """The owner's policy it registered with; ``None`` from a controller that does not say."""
