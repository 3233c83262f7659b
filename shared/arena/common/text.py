"""Free text from other people: how long it may be, which characters it may hold, and how it is
shown on a terminal.

A control character in a name or a label (ESC above all) would let whoever wrote it move the
cursor, recolour or rewrite what ``arenactl`` prints; the controller refuses them at the door
and ``arenactl`` escapes whatever is stored anyway (data from before the check, log lines).
"""

import re

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls, DEL, line/paragraph separators and bidirectional overrides."""
_LAYOUT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""The same, less tab and newline: what a multi-line text (a description, a command) refuses."""


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first control character in ``text``, escaped for a message; None when there is none.
    ``multiline`` lets tab and newline through."""
    found = (_LAYOUT if multiline else CONTROL).search(text)
    return None if found is None else _escaped(found.group())


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character written as ``\\xNN``; ``multiline`` keeps tab and
    newline as they are."""
    pattern = _LAYOUT if multiline else CONTROL
    return pattern.sub(lambda found: _escaped(found.group()), text)


def text_problem(text: str, max_chars: int, *, multiline: bool = False) -> str | None:
    """Why ``text`` is refused (too long, a control character), or None."""
    if len(text) > max_chars:
        return f"{len(text)} characters; at most {max_chars}"
    control = control_character(text, multiline=multiline)
    return None if control is None else f"holds the control character {control}"


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
