"""Which agents would run a suite's jobs: the answer of ``CheckSuite`` (``arenactl validate``).

An agent *matches* a job when the job's target selects it (labels, GPU, tier…); a matching
agent *admits* the job when its owner's policy allows the job's engine and model
(``arena.common.policy.refusals``). A job only waits for agents that both match and admit.
"""

from arena.common.schemas.base import ArenaModel

NOBODY_ADMITS = "no agent's policy admits this job"
"""How a queued job's message begins while agents match its target but none admits it."""


class AgentRefusal(ArenaModel):
    agent: str
    reasons: list[str]


class JobAdmission(ArenaModel):
    target: str
    model: str
    engine: str
    """The engine profile's runtime."""
    admitting: list[str] = []
    """Agents that match the target and whose policy admits the job."""
    refusing: list[AgentRefusal] = []
    """Agents that match the target but whose policy refuses the job."""
    unlisted: int = 0
    """Matching agents left out of both lists (each lists a bounded number), counted only."""


class SuiteAdmission(ArenaModel):
    jobs: list[JobAdmission]
