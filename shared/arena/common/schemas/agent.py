"""What an agent says about itself when it registers, and what the controller makes of its
silence."""

from enum import StrEnum

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
