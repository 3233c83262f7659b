"""The ranking on synthetic aggregate rows: shared benchmarks, rank intervals and ties."""

from arena.common.analysis.aggregate import OK, AggregateRow, Entry
from arena.common.analysis.rank import rank
from arena.common.schemas.results import MetricStat
from arena.common.views.rank import RANKING


def row(model: str, bench: str, mean: float, std: float = 0.0, n: int = 3) -> AggregateRow:
    return AggregateRow(
        entry=Entry(model=model, profile="", engine="vllm", hardware="H100"),
        benchmark=bench,
        kind="open_loop",
        variant="rate1",
        status=OK,
        jobs=1,
        runs=n,
        metrics={"output_throughput": MetricStat(mean=mean, std=std, n=n)},
        throughput_key="output_throughput",
        cv_pct=None,
        unstable=False,
    )


def test_only_shared_benchmarks_count_and_the_others_are_listed() -> None:
    rows = [
        row("a", "01-chat", 100.0),
        row("a", "02-rag-8k", 10.0),
        row("b", "01-chat", 50.0),
        row("b", "02-rag-8k", 40.0),
        row("c", "01-chat", 80.0),  # no rag-8k: a and b are compared on chat alone
    ]
    got = {r.entry.model: r for r in rank(rows, "aggregate", {}).ranked}
    assert {m: r.g for m, r in got.items()} == {"a": 100.0, "b": 50.0, "c": 80.0}
    assert got["c"].missing == ["rag-8k"] and got["a"].missing == got["b"].missing == []
    assert got["a"].benchmarks == ["chat"]
    # before: a on (100 + 10) / 2 = 55 and b on 45 against c's 80: c first, a second


def test_an_entry_sharing_no_benchmark_is_left_out_and_the_others_ranked() -> None:
    rows = [
        row("a", "01-chat", 100.0),
        row("a", "02-rag-8k", 10.0),
        row("b", "01-chat", 50.0),
        row("b", "02-rag-8k", 40.0),
        row("odd", "03-long-output", 5.0),  # shares nothing with a and b
    ]
    ranking = rank(rows, "aggregate", {})
    assert [r.entry.model for r in ranking.ranked] == ["a", "b"]  # before: nobody ranked
    assert ranking.ranked[0].benchmarks == ["chat", "rag-8k"]
    [odd] = ranking.excluded
    assert (odd.entry.model, odd.reason) == (
        "odd",
        "no benchmark the ranked entries share (chat, rag-8k): has long-output",
    )


def test_entries_sharing_no_benchmark_rank_the_largest_group() -> None:
    ranking = rank([row("a", "01-chat", 1.0), row("b", "02-rag-8k", 2.0)], "aggregate", {})
    assert [r.entry.model for r in ranking.ranked] == ["a"]  # a tie of groups: first by name
    assert [x.reason for x in ranking.excluded] == [
        "no benchmark the ranked entries share (chat): has rag-8k"
    ]


def test_overlapping_runs_tie_and_clear_gaps_do_not() -> None:
    rows = [
        row("a", "01-chat", 100.0, std=5.0),
        row("b", "01-chat", 99.0, std=5.0),
        row("c", "01-chat", 50.0, std=5.0),
    ]
    ranked = rank(rows, "chat", {}).ranked
    assert [(r.entry.model, r.place, r.rank_low, r.rank_high) for r in ranked] == [
        ("a", "=1", 1, 2),
        ("b", "=1", 1, 2),
        ("c", "3", 3, 3),
    ]


def test_equal_numbers_without_spread_share_the_place() -> None:
    rows = [row("a", "01-chat", 70.0, std=0.0), row("b", "01-chat", 70.0, std=0.0)]
    ranked = rank(rows, "chat", {}).ranked
    assert [(r.place, r.rank_low, r.rank_high) for r in ranked] == [("=1", 1, 1), ("=1", 1, 1)]


def test_single_run_entries_have_an_unknown_interval_and_tie_their_neighbours() -> None:
    rows = [
        row("a", "01-chat", 100.0, n=1),  # one run: its spread is not known
        row("b", "01-chat", 60.0, std=1.0),
        row("c", "01-chat", 30.0, std=1.0),
        row("d", "01-chat", 10.0, std=1.0),
    ]
    ranked = rank(rows, "chat", {}).ranked
    assert [(r.entry.model, r.place, r.rank_low, r.rank_high) for r in ranked] == [
        ("a", "=1", None, None),  # before: ("a", "1", 1, 1)
        ("b", "=1", 2, 2),  # before: "2", though a's order above it was never measured
        ("c", "3", 3, 3),
        ("d", "4", 4, 4),
    ]
    shown = [{cell.key: cell.text for cell in RANKING.cells(r)} for r in ranked]
    assert [cells["rank_range"] for cells in shown] == ["?", "2", "3", "4"]


def test_a_single_run_or_a_lone_entry_has_a_point_interval() -> None:
    [only] = rank([row("a", "01-chat", 10.0, std=3.0)], "chat", {}).ranked
    assert (only.place, only.rank_low, only.rank_high) == ("1", 1, 1)
