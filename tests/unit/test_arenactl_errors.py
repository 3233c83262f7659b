"""Every ArenaError a command raises ends arenactl in one place (``arena.client.exits``): its
message on stderr and the exit code of its row in the error table."""

import click
import pytest
from click.testing import CliRunner

from arena.client.exits import ArenactlGroup
from arena.common.errors import (
    ArenaError,
    InvalidRequestError,
    NotFoundError,
    PolicyError,
    SuiteError,
    TooLargeError,
    UnavailableError,
)
from arena.common.status import TABLE


def _arenactl_raising(error: Exception) -> click.Group:
    """A root group like arenactl's, with ``fails`` and ``nested fails`` raising ``error``."""
    root = ArenactlGroup(lazy_commands={})
    nested = click.Group("nested")
    root.add_command(nested)

    @click.command()
    def fails() -> None:
        raise error

    root.add_command(fails)
    nested.add_command(fails)
    return root


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SuiteError("suite.yaml", 3, "benchmarks[0]", "unknown tool"), 2),
        (InvalidRequestError("bad limit"), 2),
        (TooLargeError("too many requests"), 2),
        (NotFoundError("no run 'run-nope'"), 1),
        (UnavailableError("controller unreachable"), 1),
        (PolicyError("refused by policy"), 1),  # no row: exits 1
        (ArenaError("plain"), 1),
    ],
)
@pytest.mark.parametrize("path", [["fails"], ["nested", "fails"]])
def test_an_arena_error_ends_arenactl_with_its_message_and_exit_code(
    error: ArenaError, code: int, path: list[str]
) -> None:
    result = CliRunner().invoke(_arenactl_raising(error), path)
    assert result.exit_code == code
    assert result.stderr == f"error: {error}\n"
    assert result.stdout == ""


def test_the_exit_codes_are_the_tables() -> None:
    """2 for a request refused as given (fix the file or the arguments), 1 for the rest."""
    refused = {row.error.__name__ for row in TABLE if row.exit_code == 2}
    assert refused == {"InvalidRequestError", "SuiteError", "TooLargeError"}
    assert {row.exit_code for row in TABLE} == {1, 2}


def test_an_error_that_is_not_arenas_is_not_swallowed() -> None:
    result = CliRunner().invoke(_arenactl_raising(KeyError("bug")), ["fails"])
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
