"""What ``arenactl trace inspect`` reports about a trace: its size, the spread of each
quantity, and the prefix-cache hit rate it implies (``implied``)."""

from collections.abc import Iterator, Sequence

from arena.common import stats
from arena.common.schemas.base import ArenaModel
from arena.common.traces.format import Session, Trace
from arena.common.traces.implied import Implied, implied_cache


class Spread(ArenaModel):
    """One quantity over a trace: mean, median, 95th percentile and largest value."""

    quantity: str
    unit: str
    count: int
    mean: float | None
    p50: float | None
    p95: float | None
    max: float | None

    @classmethod
    def of(cls, quantity: str, unit: str, values: Sequence[float]) -> "Spread":
        if not values:
            return cls(
                quantity=quantity, unit=unit, count=0, mean=None, p50=None, p95=None, max=None
            )
        return cls(
            quantity=quantity,
            unit=unit,
            count=len(values),
            mean=stats.mean(values),
            p50=stats.median(values),
            p95=stats.percentile(values, 95),
            max=float(max(values)),
        )


class TraceSummary(ArenaModel):
    description: str
    profile: str
    seed: int | None
    block_size: int
    sessions: int
    subagent_sessions: int
    requests: int
    """Turns of every session, sub-agents' included: one request each."""
    spreads: list[Spread]
    cache_block_size: int
    cache_blocks: int | None
    """The LRU bound of the implied figures; None: unbounded."""
    implied_hit_pct_engine: float
    """Implied hit rate, earlier answers re-sent as the engine produced them."""
    implied_hit_pct_trace: float
    """Implied hit rate, earlier answers re-sent as synthesised text."""
    first_turn_hit_pct: float
    """Implied (history engine) hit rate of top-level sessions' first turns alone: what the
    sessions share with one another (sub-agents' first turns inherit their parent's)."""


def summarise(
    trace: Trace, cache_blocks: int | None = None, cache_block_size: int | None = None
) -> TraceSummary:
    engine = implied_cache(trace, "engine", cache_blocks, cache_block_size)
    replayed = implied_cache(trace, "trace", cache_blocks, cache_block_size)
    first = Implied([r for r in engine.requests if r.turn == 0 and "." not in r.session])
    subagents = [child for session in trace.sessions for child in _subagents(session)]
    turn_counts = [len(session.turns) for session in trace.sessions]
    thinks = [turn.think_s for s in (*trace.sessions, *subagents) for turn in s.turns[:-1]]
    spreads = [
        Spread.of("turns per session", "turns", turn_counts),
        Spread.of("new input per turn", "tokens", [r.new_tokens for r in engine.requests]),
        Spread.of("context per request", "tokens", [r.prompt_tokens for r in engine.requests]),
        Spread.of("output per request", "tokens", [r.output_tokens for r in engine.requests]),
        Spread.of("think between turns", "s", thinks),
        Spread.of("cached per request", "tokens", [r.cached_tokens for r in engine.requests]),
    ]
    header = trace.header
    return TraceSummary(
        description=header.description,
        profile=header.profile,
        seed=header.seed,
        block_size=header.block_size,
        sessions=len(trace.sessions),
        subagent_sessions=len(subagents),
        requests=len(engine.requests),
        spreads=spreads,
        cache_block_size=cache_block_size or header.block_size,
        cache_blocks=cache_blocks,
        implied_hit_pct_engine=engine.hit_pct,
        implied_hit_pct_trace=replayed.hit_pct,
        first_turn_hit_pct=first.hit_pct,
    )


def _subagents(session: Session) -> Iterator[Session]:
    for turn in session.turns:
        for child in turn.subagents:
            yield child
            yield from _subagents(child)
