"""Which agents a job waits for: its target's selectors and each agent's policy, together.

An agent takes a job only when the job's target selects it *and* its owner's policy admits the
job's engine and model (``arena.common.policy.refusals``, the rule the agent checks again before
it starts anything). Leasing asks the agent's ``StoredPolicy`` per candidate job; ``CheckSuite``
and the run views ask which registered agents match and which of them refuse, and why. A stored
policy is parsed once per distinct document, never once per job row, and its verdict on a job
is remembered.
"""

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from arena.common.policy import refusals
from arena.common.schemas.admission import (
    NOBODY_ADMITS,
    AgentRefusal,
    JobAdmission,
    SuiteAdmission,
)
from arena.common.schemas.job import JobState
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import ResolvedSuite, Target
from arena.common.suites.expand import AgentFacts, expand, matches
from arena.controller.store.agents import facts, list_agents
from arena.controller.store.models import AgentRow, JobRow
from arena.controller.store.specs import UnsendableJob, stored_engine_and_model, stored_target

DEFAULT_POLICY = AgentPolicy()
"""What an agent that registered without a policy (an older agent, or a row from before
policies) is held to: the same safe defaults as an agent started without a policy file."""
MAX_LISTED_AGENTS = 50
"""Agents ``check_suite`` lists per job as admitting, and as refusing; the rest are counted."""
MAX_NAMED_REFUSALS = 3
"""Refusing agents a waiting job's note names; the rest are counted."""


@dataclass(frozen=True)
class StoredPolicy:
    """A policy as an agent's row stores it: parsed, and known by its document's digest (what
    verdicts are remembered under)."""

    policy: AgentPolicy
    digest: bytes

    def refusals(self, job: JobRow) -> tuple[str, ...]:
        """Why this policy refuses a stored job; empty when it admits it. Verdicts are
        remembered per (policy, job), since a job's spec never changes: a queue an agent
        refuses costs one check per job, not one per job per lease call or per view. Raises
        ``UnsendableJob`` for a spec that no longer validates."""
        key = (self.digest, job.id)
        verdict = _VERDICTS.get(key)
        if verdict is None:
            verdict = tuple(job_refusals(self.policy, job.spec))
            if len(_VERDICTS) >= MAX_VERDICTS:
                _VERDICTS.clear()  # a bound, not an eviction policy: verdicts are cheap to redo
            _VERDICTS[key] = verdict
        return verdict


MAX_VERDICTS = 100_000
_VERDICTS: dict[tuple[bytes, str], tuple[str, ...]] = {}


def stored_policy(agent: AgentRow) -> StoredPolicy:
    """The policy the agent registered with; the defaults when it sent none."""
    document = "" if agent.policy is None else json.dumps(agent.policy, sort_keys=True)
    return _parsed(document)


def policy_of(agent: AgentRow) -> AgentPolicy:
    return stored_policy(agent).policy


@functools.lru_cache(maxsize=1024)
def _parsed(document: str) -> StoredPolicy:
    policy = AgentPolicy.model_validate_json(document) if document else DEFAULT_POLICY
    return StoredPolicy(policy, hashlib.sha256(document.encode()).digest())


def job_refusals(policy: AgentPolicy, spec: dict[str, Any]) -> list[str]:
    """Why ``policy`` refuses the job whose stored spec is ``spec``; empty when it admits it."""
    return refusals(policy, *stored_engine_and_model(spec))


@dataclass(frozen=True)
class Candidate:
    """A registered agent as selectors and policies see it."""

    facts: AgentFacts
    policy: StoredPolicy


def candidates(session: Session) -> list[Candidate]:
    """Every registered agent, its policy parsed once."""
    rows = list_agents(session)
    return [Candidate(facts(row), stored_policy(row)) for row in rows]


def check_suite(resolved: ResolvedSuite, agents: Sequence[Candidate]) -> SuiteAdmission:
    """Per job the suite expands to: the ``agents`` its target selects that admit it, and
    those that refuse it with their reasons. Needs no database: the caller reads the
    candidates in one transaction and runs this off the event loop and the database's
    threads."""
    selected = {
        target.name: [agent for agent in agents if matches(target, agent.facts)]
        for target in resolved.spec.targets
    }
    verdicts: dict[tuple[str, str], list[str]] = {}  # a model's verdict holds for every target
    jobs = []
    for spec in expand(resolved, run_id="check"):
        admission = JobAdmission(
            target=spec.target, model=spec.model.name, engine=spec.engine.runtime
        )
        model = spec.model.model_dump_json() + spec.engine.model_dump_json()
        for agent in selected[spec.target]:
            key = (model, agent.facts.name)
            if key not in verdicts:
                verdicts[key] = refusals(agent.policy.policy, spec.engine, spec.model)
            if verdicts[key] and len(admission.refusing) < MAX_LISTED_AGENTS:
                admission.refusing.append(
                    AgentRefusal(agent=agent.facts.name, reasons=verdicts[key])
                )
            elif not verdicts[key] and len(admission.admitting) < MAX_LISTED_AGENTS:
                admission.admitting.append(agent.facts.name)
            else:
                admission.unlisted += 1
        jobs.append(admission)
    return SuiteAdmission(jobs=jobs)


def waiting_notes(session: Session, jobs: Sequence[JobRow]) -> dict[str, str]:
    """For each queued job that some registered agent's target matches but no such agent's
    policy admits: a note naming the refusing agents and why, so a submitter sees why the job
    waits; for one that can no longer be sent, why (its next lease fails it). Jobs no agent
    matches at all, or that one admits, get none."""
    queued = [job for job in jobs if job.state == JobState.QUEUED.value]
    if not queued:
        return {}
    agents = candidates(session)
    selected: dict[str, list[_Alike]] = {}  # a run's jobs share a few targets
    notes = {}
    for job in queued:
        selector = json.dumps(job.selector, sort_keys=True)
        try:
            if selector not in selected:
                selected[selector] = _alike(stored_target(job.selector), agents)
            note = _waiting_note(job, selected[selector])
        except UnsendableJob as error:
            note = str(error)
        if note:
            notes[job.id] = note
    return notes


@dataclass(frozen=True)
class _Alike:
    """The agents a target selects that hold one policy: they refuse the same jobs."""

    policy: StoredPolicy
    names: list[str]


def _alike(target: Target, agents: Sequence[Candidate]) -> list[_Alike]:
    groups: dict[bytes, _Alike] = {}
    for agent in agents:
        if matches(target, agent.facts):
            digest = agent.policy.digest
            groups.setdefault(digest, _Alike(agent.policy, [])).names.append(agent.facts.name)
    return list(groups.values())


def _waiting_note(job: JobRow, matching: Sequence[_Alike]) -> str:
    named: list[str] = []
    refusing = 0
    for group in matching:
        reasons = group.policy.refusals(job)
        if not reasons:
            return ""
        refusing += len(group.names)
        room = MAX_NAMED_REFUSALS - len(named)
        named += [f"{name}: {'; '.join(reasons)}" for name in group.names[:room]]
    if not named:
        return ""
    more = refusing - len(named)
    return f"{NOBODY_ADMITS}: {' | '.join(named)}" + (f" | and {more} more" if more else "")


def with_note(message: str, note: str) -> str:
    """A job's message with its waiting note after it."""
    return f"{message}; {note}" if message and note else message or note
