"""``arenactl rank``, the dashboard's leaderboard and the report's ranking: one listing."""

from collections.abc import Callable

from arena.common.analysis.rank import SLOW_TTFT_MS, Excluded, Ranked
from arena.common.views.view import Column, View

RankRow = Ranked | Excluded
"""CSV and Markdown list the entries not ranked after the ranked ones, with their reason."""


def _ranked(field: str) -> Callable[[RankRow], object]:
    """A field of a ranked entry; None for one not ranked."""
    return lambda row: getattr(row, field) if isinstance(row, Ranked) else None


def _slow(row: RankRow) -> str:
    slow = isinstance(row, Ranked) and row.slow
    return f"> {SLOW_TTFT_MS / 1000:g} s" if slow else ""


ENTRY: list[Column[RankRow]] = [
    Column("model", "model", lambda r: r.entry.model),
    Column("profile", "profile", lambda r: r.entry.profile),
    Column("engine", "engine", lambda r: r.entry.engine),
    Column("hardware", "hardware", lambda r: r.entry.hardware),
]

RANKING: View[RankRow] = View(
    "ranking",
    [
        Column("rank", "#", _ranked("rank"), 0),
        *ENTRY,
        Column(
            "score",
            "score",
            _ranked("score"),
            1,
            data=lambda r: round(r.score, 2) if isinstance(r, Ranked) else None,
        ),
        Column.metric("q", _ranked("q")),
        Column.metric("g_tok_s", _ranked("g"), of="g"),
        Column.metric("e_tok_s_per_gb", _ranked("e"), of="e"),
        Column("q_scaled", "Q scaled", _ranked("q_scaled"), 1),
        Column("g_scaled", "G scaled", _ranked("g_scaled"), 1),
        Column("e_scaled", "E scaled", _ranked("e_scaled"), 1),
        Column.metric("ttft_ms", _ranked("ttft_ms"), mark=_slow),
        Column.metric("ttft_p95_ms", _ranked("ttft_p95_ms")),
        Column("slow", "slow", _ranked("slow")),
        Column(
            "excluded_reason",
            "why not ranked",
            lambda r: r.reason if isinstance(r, Excluded) else None,
        ),
    ],
    show=[
        "rank",
        *(column.key for column in ENTRY),
        "score",
        "q",
        "g_tok_s",
        "e_tok_s_per_gb",
        "ttft_ms",
        "ttft_p95_ms",
    ],
)
"""Ranked entries (tables and pages show ``show``); CSV and Markdown carry every
column, the entries not ranked after the ranked ones."""

NOT_RANKED: View[Excluded] = View(
    "not_ranked",
    [*ENTRY, Column("reason", "why", lambda x: x.reason)],
    show=[*(column.key for column in ENTRY), "reason"],
)
"""Entries left out of a ranking, and why."""
