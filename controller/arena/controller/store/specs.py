"""A stored job read back for sending: the one place that decides whether it still can be.

A spec or target stored by an older controller, or before a schema was tightened, may no longer
validate. Leasing fails such a job for good (no agent could run it) instead of raising on every
agent that asks; the views show the same reason.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from arena.common.schemas.engine import EngineProfile
from arena.common.schemas.job import JobSpec
from arena.common.schemas.suite import ModelSpec, Target

MAX_LISTED_PROBLEMS = 3
"""Validation problems a reason names; the rest are counted."""
_ENGINE = TypeAdapter(EngineProfile)
T = TypeVar("T")


class UnsendableJob(Exception):
    """A stored job that no longer validates; the message says why, for the people who see it."""


def stored_spec(spec: dict[str, Any]) -> JobSpec:
    """The job's spec, as an agent is sent it."""
    return _read("spec", "", lambda: JobSpec.model_validate(spec))


def stored_engine_and_model(spec: dict[str, Any]) -> tuple[EngineProfile, ModelSpec]:
    """The parts of the job's spec an agent's policy judges, without reading the rest."""
    engine = _read("spec", "engine", lambda: _ENGINE.validate_python(spec.get("engine")))
    return engine, _read("spec", "model", lambda: ModelSpec.model_validate(spec.get("model")))


def stored_target(selector: dict[str, Any]) -> Target:
    """The target that selects the agents the job waits for."""
    return _read("target", "", lambda: Target.model_validate(selector))


def _read(what: str, part: str, validate: Callable[[], T]) -> T:
    try:
        return validate()
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(key) for key in (part, *problem['loc']) if key != '') or what}: "
            + problem["msg"]
            for problem in error.errors(include_url=False, include_input=False)
        ]
        more = len(problems) - MAX_LISTED_PROBLEMS
        listed = "; ".join(problems[:MAX_LISTED_PROBLEMS]) + (
            f"; and {more} more" if more > 0 else ""
        )
        raise UnsendableJob(f"the stored job {what} is no longer valid: {listed}") from error
