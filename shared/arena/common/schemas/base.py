"""One pydantic configuration for every schema, so inputs reject unknown fields everywhere."""

from pydantic import BaseModel, ConfigDict


class ArenaModel(BaseModel):
    """Base for user-written input and wire payloads: unknown fields are errors, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)
