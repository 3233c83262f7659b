"""The owner's policy on this box: read once at start (a broken file stops the agent with the
reason), and checked before a job starts anything.

``arena.common.policy.refusals`` is the rule the controller also reads; here the agent adds what
only the box can see: where a model path really leads once links are resolved, and whether the
policy's ``process.user`` can run engines at all. (A Docker image's real digest is checked by the
Docker driver, once the image is local.)
"""

import os
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from arena.agent.engines.sandbox import engine_user
from arena.common.errors import PolicyError
from arena.common.policy import REFUSED, refusals, within_models_dir
from arena.common.schemas.engine import EngineProfile, ProcessEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import Benchmark, ModelSpec, OpenLoopBenchmark, SessionBenchmark


def load_policy(path: Path | None) -> AgentPolicy:
    """The policy in ``path`` (YAML); the safe defaults when no file is configured."""
    if path is None:
        return AgentPolicy()
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise PolicyError(f"cannot read the policy file {path}: {error}") from error
    try:
        return AgentPolicy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(f"policy file {path}: {error}") from error


def refusal(reasons: list[str]) -> str:
    """The job's message: the prefix the controller reads as final, then every reason."""
    return f"{REFUSED}: {'; '.join(reasons)}"


def box_refusals(policy: AgentPolicy, engine: EngineProfile, model: ModelSpec) -> list[str]:
    """Why this box refuses the job; empty when it may start."""
    found = refusals(policy, engine, model)
    if found:
        return found
    if isinstance(engine, ProcessEngine):
        recipe = policy.process.recipes[engine.recipe]
        if any("model_path" in word for word in recipe.command):
            found += _escapes(policy, "model", model.name)
        try:
            engine_user(policy.process.user)
        except PolicyError as error:
            found.append(str(error).removeprefix(f"{REFUSED}: "))
    if model.tokenizer is not None:
        found += _escapes(policy, "tokenizer", model.tokenizer)
    return found


def dataset_refusals(policy: AgentPolicy, benchmarks: Sequence[Benchmark]) -> list[str]:
    """Why this box refuses the job's datasets and trace files: the agent reads them as its
    own user, so a ``dataset_path`` or ``trace.path`` may only name a file under
    ``models_dir`` (not the agent's state, another user's files, ``/dev/zero``); empty when
    every one may be read."""
    found = []
    for bench in benchmarks:
        for field, path in _data_files(bench):
            if within_models_dir(policy, path):
                found += _escapes(policy, f"{bench.id}: {field}", path)
            else:
                found.append(f"{bench.id}: {field} {path!r} is not under the policy's models_dir")
    return found


def _data_files(bench: Benchmark) -> list[tuple[str, str]]:
    """The files on this box a benchmark reads, by the field naming each."""
    if isinstance(bench, OpenLoopBenchmark) and bench.dataset_path is not None:
        return [("dataset_path", bench.dataset_path)]
    if isinstance(bench, SessionBenchmark) and bench.trace.path is not None:
        return [("trace.path", bench.trace.path)]
    return []


def models_path(policy: AgentPolicy, name: str) -> Path:
    """``name`` under ``models_dir`` with every link resolved: what an engine would open."""
    assert policy.models_dir is not None  # refusals() admits no model path without one
    return Path(os.path.realpath(os.path.join(policy.models_dir, name)))


def _escapes(policy: AgentPolicy, what: str, name: str) -> list[str]:
    root = Path(os.path.realpath(policy.models_dir or "/"))
    if models_path(policy, name).is_relative_to(root):
        return []
    return [f"{what} {name!r} leads out of the policy's models_dir through a link"]
