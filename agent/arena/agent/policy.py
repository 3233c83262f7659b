"""Read the owner's policy file once, at start: a broken file stops the agent with the reason."""

from pathlib import Path

import yaml
from pydantic import ValidationError

from arena.common.errors import PolicyError
from arena.common.schemas.policy import AgentPolicy


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
