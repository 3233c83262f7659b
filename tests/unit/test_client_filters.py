"""arenactl's run filters and its csv output, without a controller."""

from typing import Any

import click
import pytest

from arena.client.api import RunInfo
from arena.client.filters import parse_age, select_runs
from arena.client.output import Rows, to_csv

NOW = 1_800_000_000.0


def run(run_id: str, suite: str, state: str, age_s: float) -> RunInfo:
    return RunInfo(
        run_id=run_id,
        suite=suite,
        state=state,
        created_at_unix=NOW - age_s,
        jobs_total=1,
        jobs_done=0,
        samples=0,
    )


RUNS = [
    run("run-a", "arena-v1", "running", 60),
    run("run-b", "import:gemma/bf16", "succeeded", 3 * 3600),
    run("run-c", "arena-v2", "failed", 2 * 86400),
]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1.5d", 129600), ("1w", 604800), (" 2h ", 7200)],
)
def test_ages_read_as_seconds(text: str, seconds: float) -> None:
    assert (
        parse_age(click.Context(click.Command("runs")), click.Option(["--since"]), text) == seconds
    )


@pytest.mark.parametrize("text", ["2", "h", "-1h", "2 hours", "1y"])
def test_other_ages_are_refused(text: str) -> None:
    with pytest.raises(click.BadParameter, match="not a duration"):
        parse_age(click.Context(click.Command("runs")), click.Option(["--since"]), text)


def test_filters_combine_and_keep_the_newest_first() -> None:
    def ids(**filters: Any) -> list[str]:
        return [r.run_id for r in select_runs(RUNS, now=NOW, **filters)]

    assert ids(limit=10) == ["run-a", "run-b", "run-c"]
    assert ids(limit=10, since_s=3600) == ["run-a"]
    assert ids(limit=10, since_s=86400) == ["run-a", "run-b"]
    assert ids(limit=10, states=("failed", "succeeded")) == ["run-b", "run-c"]
    assert ids(limit=10, suite="arena-*") == ["run-a", "run-c"]
    assert ids(limit=10, suite="arena-v1") == ["run-a"]
    assert ids(limit=1, suite="arena-*") == ["run-a"]
    assert ids(limit=10, suite="arena-*", since_s=86400) == ["run-a"]


def test_csv_quotes_what_needs_it_and_writes_nested_values_as_json() -> None:
    table = Rows(
        ("name", "labels", "note", "empty"), [["box", {"b": "2", "a": "1"}, 'say "hi", ok', None]]
    )
    assert (
        to_csv(table)
        == 'name,labels,note,empty\nbox,"{""a"": ""1"", ""b"": ""2""}","say ""hi"", ok",\n'
    )
