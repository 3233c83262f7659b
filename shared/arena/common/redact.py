"""Secrets kept out of everything Arena stores, logs or exports.

Two nets: the values a job is known to use (its ``secrets:`` and API key, only the agent has
them) are replaced wherever they appear; and anything shaped like a hub token or API key
(``hf_…``, ``sk-…``, ``ghp_…``, ``Bearer …``, ``HF_TOKEN=…``) is replaced even when nobody said
it was a secret, which is what the controller can do on ingest.
"""

import re
from collections.abc import Iterable
from typing import Any, TypeVar

REDACTED = "***"
MIN_SECRET_LENGTH = 6
"""Shorter known values are not searched for: replacing "abc" everywhere would garble logs."""

_WORD = r"(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|CREDENTIALS?)"
SECRET_NAME = re.compile(rf"(?:^|_){_WORD}(?:_|$)", re.IGNORECASE)
"""Environment variable names whose values are secrets: ``HF_TOKEN``, ``OPENAI_API_KEY`` (not
``TOKENIZERS_PARALLELISM``)."""
_SHAPES = (
    r"\bhf_[A-Za-z0-9]{20,}",  # Hugging Face hub tokens
    r"\bsk-[A-Za-z0-9_-]{20,}",  # OpenAI-style API keys
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",  # GitHub tokens
    r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bxox[abprs]-[A-Za-z0-9-]{10,}",  # Slack tokens
)
SECRET_VALUE = re.compile("|".join(_SHAPES))
_BEARER = re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_ASSIGNED = re.compile(
    rf"(\b(?:[A-Za-z]+_)*{_WORD}\s*[=:]\s*[\"']?)((?=[^\s\"',;]*[A-Za-z])[^\s\"',;]{{6,}})",
    re.IGNORECASE,
)
"""``HF_TOKEN=value``, ``api_key: value``: the value of anything named like a secret."""

T = TypeVar("T")


class Redactor:
    def __init__(self, known: Iterable[str | None] = ()) -> None:
        values = {value for value in known if value and len(value) >= MIN_SECRET_LENGTH}
        self._known = (
            re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
            if values
            else None
        )

    def text(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(REDACTED, text)
        text = SECRET_VALUE.sub(REDACTED, text)
        text = _BEARER.sub(lambda match: match.group(1) + REDACTED, text)
        return _ASSIGNED.sub(
            lambda match: (
                match.group(0) if match.group(2) == REDACTED else match.group(1) + REDACTED
            ),
            text,
        )

    def tree(self, value: T) -> T:
        """The same JSON-like document with every string redacted (keys included)."""
        return _walk(value, self.text)  # type: ignore[no-any-return]


def _walk(value: Any, redact: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_walk(key, redact): _walk(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(item, redact) for item in value]
    return value


SHAPES_ONLY = Redactor()
"""What the controller applies on ingest: it never knows the values themselves."""


def looks_secret(name: str, value: str) -> bool:
    """Whether an environment entry carries a secret value (by its name or its shape)."""
    return bool(SECRET_NAME.search(name) or SECRET_VALUE.search(value))
