"""``arenactl rank``, the dashboard's leaderboard and the report's ranking: one listing."""

from collections.abc import Callable

from arena.common.analysis.rank import SLOW_TTFT_MS, Excluded, Ranked
from arena.common.views.aggregate import ENTRY
from arena.common.views.view import Column, View

RankRow = Ranked | Excluded
"""CSV and Markdown list the entries not ranked after the ranked ones, with their reason."""


def _ranked(field: str) -> Callable[[RankRow], object]:
    """A field of a ranked entry; None for one not ranked."""
    return lambda row: getattr(row, field) if isinstance(row, Ranked) else None


def _slow(row: RankRow) -> str:
    slow = isinstance(row, Ranked) and row.slow
    return f"> {SLOW_TTFT_MS / 1000:g} s" if slow else ""


def _why(excluded: Excluded) -> str:
    """The reason, led by ``simulated`` for an entry of Arena's simulated engine, whatever
    else kept it out (``simulated: no long-output benchmark``)."""
    reason = excluded.reason
    simulated = excluded.entry.engine == "simulated" or "simulated" in reason
    return f"simulated: {reason}" if simulated and not reason.startswith("simulated") else reason


def _range(row: RankRow) -> str | None:
    """``1–3``: the 95 % interval of the rank over resampled rankings; ``?`` where the entry
    has no spread to resample (one run, no std)."""
    if not isinstance(row, Ranked):
        return None
    low, high = row.rank_low, row.rank_high
    if low is None or high is None:
        return "?"
    return str(low) if low == high else f"{low}–{high}"


def _missing(row: RankRow) -> str | None:
    return ", ".join(row.missing) if isinstance(row, Ranked) else None


def _cost(field: str) -> Callable[[RankRow], object]:
    return lambda row: getattr(row.cost, field) if isinstance(row, Ranked) and row.cost else None


def _cost_note(row: RankRow) -> str:
    return row.cost.note if isinstance(row, Ranked) and row.cost else ""


RANK = Column[RankRow](
    "rank",
    "#",
    lambda r: (r.place or str(r.rank)) if isinstance(r, Ranked) else None,
    data=_ranked("rank"),
)
PLACE = Column[RankRow]("place", "place", _ranked("place"))
RANGE = Column[RankRow]("rank_range", "rank 95 %", _range)
MISSING = Column[RankRow]("missing", "missing", _missing)
USD = Column.metric("usd_per_mtok", _cost("usd_per_mtok"), key="usd_per_mtok", mark=_cost_note)
KWH = Column.metric("tokens_per_kwh", _cost("tokens_per_kwh"), key="tokens_per_kwh")
SCORE = Column[RankRow](
    "score",
    "score",
    _ranked("score"),
    1,
    data=lambda r: round(r.score, 2) if isinstance(r, Ranked) else None,
)
Q = Column.metric("q", _ranked("q"), key="q")
G = Column.metric("g", _ranked("g"), key="g_tok_s")
E = Column.metric("e", _ranked("e"), key="e_tok_s_per_gb")
TTFT = Column.metric("ttft_ms", _ranked("ttft_ms"), key="ttft_ms", mark=_slow)
TTFT_P95 = Column.metric("ttft_p95_ms", _ranked("ttft_p95_ms"), key="ttft_p95_ms")

RANKING: View[RankRow] = View(
    "ranking",
    shown=[RANK, RANGE, *ENTRY, SCORE, Q, G, E, TTFT, TTFT_P95, USD, KWH, MISSING],
    export=[
        RANK,
        PLACE,
        RANGE,
        *ENTRY,
        SCORE,
        Q,
        G,
        E,
        *(Column(f"{d}_scaled", f"{d.upper()} scaled", _ranked(f"{d}_scaled"), 1) for d in "qge"),
        TTFT,
        TTFT_P95,
        USD,
        KWH,
        Column("cost_at", "cost read at", _cost("variant")),
        MISSING,
        Column("slow", "slow", _ranked("slow")),
        Column(
            "excluded_reason",
            "why not ranked",
            lambda r: r.reason if isinstance(r, Excluded) else None,
        ),
    ],
)
"""Ranked entries; CSV and Markdown carry the scaled dimensions too, and the entries not
ranked after the ranked ones."""

NOT_RANKED: View[Excluded] = View("not_ranked", [*ENTRY, Column("reason", "why", _why)])
"""Entries left out of a ranking, and why."""
