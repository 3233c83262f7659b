"""Parsers for the reference tools' output files: one module per format, pure text → data.

Each parser raises ``ParseError`` for a file it cannot read at all; problems confined to one
part of a file (a broken table row, a bad number) come back beside the data instead, so the
rest of the file still counts. ``result_folder`` walks a folder tree and gathers both.
"""

import json
from typing import Any


class ParseError(ValueError):
    """The file cannot be read as its format; the message says what is wrong."""


def json_object(text: str) -> dict[str, Any]:
    """The text as a JSON object, or a ParseError saying why not."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ParseError(f"not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise ParseError("expected a JSON object")
    return document
