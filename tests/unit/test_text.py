"""Free text: the length and character checks the controller applies, and how arenactl shows
what got through anyway."""

import pytest

from arena.common.text import control_character, printable, text_problem


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("plain name-1.2", None),
        ("\x1b[31mred", r"\x1b"),
        ("bell\x07", r"\x07"),
        ("c1\x9b", r"\x9b"),
        ("right\u202eto-left", r"\u202e"),
        ("tab\there", r"\x09"),
        ("line\nbreak", r"\x0a"),
    ],
)
def test_control_characters_are_found_and_named_escaped(text: str, found: str | None) -> None:
    assert control_character(text) == found


def test_multiline_text_may_hold_tabs_and_newlines_only() -> None:
    assert control_character("a\tb\nc", multiline=True) is None
    assert control_character("a\n\x1b[2J", multiline=True) == r"\x1b"


def test_text_problems_say_why_without_echoing() -> None:
    assert text_problem("x" * 10, 10) is None
    assert text_problem("x" * 11, 10) == "11 characters; at most 10"
    problem = text_problem("secret\x1b", 100)
    assert problem == r"holds the control character \x1b" and "secret" not in problem


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    evil = "evil\x1b]0;pwned\x07\x1b[2J"
    assert printable(evil) == r"evil\x1b]0;pwned\x07\x1b[2J"
    assert printable("a\nb\x1b") == r"a\x0ab\x1b"
    assert printable("a\nb\x1b", multiline=True) == "a\nb\\x1b"
