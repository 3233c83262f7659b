"""One pydantic configuration for every schema, so inputs reject unknown fields everywhere."""

import json
from typing import Any

import pydantic_core
from pydantic import BaseModel, ConfigDict


class ArenaModel(BaseModel):
    """Base for user-written input and wire payloads: unknown fields are errors, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True, defer_build=True)
    """``defer_build``: a schema builds its validator when first used, so a program that imports
    many (arenactl's API client) pays for the few it reads."""


def json_document(model: BaseModel) -> dict[str, Any]:
    """``model`` as strict JSON values, a non-finite float as the string pydantic reads back
    (``"Infinity"``). Strict JSON has no such numbers: the manifest's canonical form refuses
    them and the store's JSON columns turn them into null, which no longer validates (a job
    with ``request_rate: [inf]`` failed every read of its spec, the lease included)."""
    text = pydantic_core.to_json(model.model_dump(mode="json"), inf_nan_mode="strings")
    document: dict[str, Any] = json.loads(text)
    return document
