"""``arenactl agents`` and the dashboard's agents page: one listing."""

from arena.common.schemas.agent import AgentInfo
from arena.common.views.view import Column, View, when

NAME = Column[AgentInfo]("name", "agent", lambda a: a.name)
TIER = Column[AgentInfo]("tier", "tier", lambda a: a.trust)
HARDWARE = Column[AgentInfo]("hardware", "hardware", lambda a: a.hardware.summary)


def _policy(agent: AgentInfo) -> str:
    return agent.policy.summary() if agent.policy else ""


def _cpu(agent: AgentInfo) -> str:
    hardware = agent.hardware
    return f"{hardware.cpu_model} · {hardware.cpu_arch} · {hardware.cpu_cores} cores"


def _client(agent: AgentInfo) -> str:
    """The client headroom measured at the agent's start (``—``: not measured)."""
    headroom = agent.hardware.client_headroom
    return f"{headroom.summary} < {headroom.lag_limit_ms:g} ms lag" if headroom else "—"


def _labels(agent: AgentInfo) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(agent.labels.items()))


AGENTS: View[AgentInfo] = View(
    "agents",
    shown=[
        NAME,
        Column(
            "status",
            "status",
            lambda a: a.status,
            state=True,
            mark=lambda a: "draining" if a.draining else "",
        ),
        TIER,
        HARDWARE,
        Column("cpu", "CPU", _cpu),
        Column("client", "client headroom", _client),
        Column("labels", "labels", _labels),
        Column("current_job", "job", lambda a: a.current_job or "idle"),
        Column("last_seen", "last seen", lambda a: when(a.last_seen_unix)),
        Column("policy", "policy", _policy, wrap=False),
    ],
    export=[
        NAME,
        Column("status", "status", lambda a: a.status),
        Column("draining", "draining", lambda a: a.draining),
        TIER,
        HARDWARE,
        Column("cpu_arch", "arch", lambda a: a.hardware.cpu_arch),
        Column("labels", "labels", lambda a: a.labels),
        Column("current_job", "job", lambda a: a.current_job),
        Column("last_seen_unix", "last seen", lambda a: a.last_seen_unix),
        Column("policy", "policy", _policy),
        Column(
            "client_requests_per_s",
            "client req/s",
            lambda a: h.requests_per_s if (h := a.hardware.client_headroom) else None,
        ),
        Column(
            "client_streams",
            "client streams",
            lambda a: h.streams if (h := a.hardware.client_headroom) else None,
        ),
    ],
)
"""In the controller's order; a draining agent's status carries the mark ``draining``."""
