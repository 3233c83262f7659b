"""One pydantic configuration for every schema, so inputs reject unknown fields everywhere."""

from pydantic import BaseModel, ConfigDict
from sqlmodel import SQLModel
from sqlmodel._compat import SQLModelConfig  # the config type SQLModel declares; not re-exported


class ArenaModel(BaseModel):
    """Base for user-written input and wire payloads: unknown fields are errors, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)


class ArenaRecord(SQLModel):
    """Base for a record that is also stored: the fields are declared once here, validated like
    an ``ArenaModel``, and the controller's table class inherits them, adding only its keys.

    Only the base validates (SQLModel table classes skip validation on ``__init__``), so data
    from outside is parsed with the base and rows are built from parsed records.
    """

    model_config = SQLModelConfig(extra="forbid", frozen=False, populate_by_name=True)
