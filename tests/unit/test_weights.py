"""``Q,G,E`` weights are parsed once (``arena.common.analysis.rank.parse_weights``), for
``arenactl rank --weights`` and the leaderboard's ``weights`` alike."""

import pytest

from arena.common.analysis.rank import parse_weights


def test_three_numbers_are_weights() -> None:
    assert parse_weights("50,40,10") == (50.0, 40.0, 10.0)
    assert parse_weights(" 1, 0 ,0.5") == (1.0, 0.0, 0.5)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("1,2", "e.g. 50,40,10"),
        ("1,2,3,4", "e.g. 50,40,10"),
        ("a,b,c", "e.g. 50,40,10"),
        ("", "e.g. 50,40,10"),
        ("-1,2,3", "none negative, not all zero"),
        ("0,0,0", "none negative, not all zero"),
    ],
)
def test_anything_else_is_refused_saying_which_rule(text: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        parse_weights(text)
