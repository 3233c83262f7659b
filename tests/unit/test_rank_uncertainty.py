"""The ranking on synthetic aggregate rows: shared benchmarks, rank intervals and ties."""

from arena.common.analysis.aggregate import OK, AggregateRow, Entry
from arena.common.analysis.rank import rank
from arena.common.schemas.results import MetricStat


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


def test_entries_sharing_no_benchmark_are_not_ranked() -> None:
    ranking = rank([row("a", "01-chat", 1.0), row("b", "02-rag-8k", 2.0)], "aggregate", {})
    assert ranking.ranked == []
    assert sorted(x.reason for x in ranking.excluded) == [
        "no benchmark every entry has (chat)",
        "no benchmark every entry has (rag-8k)",
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
    rows = [row("a", "01-chat", 70.0, n=1), row("b", "01-chat", 70.0, n=1)]
    ranked = rank(rows, "chat", {}).ranked
    assert [(r.place, r.rank_low, r.rank_high) for r in ranked] == [("=1", 1, 1), ("=1", 1, 1)]


def test_a_single_run_or_a_lone_entry_has_a_point_interval() -> None:
    [only] = rank([row("a", "01-chat", 10.0, std=3.0)], "chat", {}).ranked
    assert (only.place, only.rank_low, only.rank_high) == ("1", 1, 1)
