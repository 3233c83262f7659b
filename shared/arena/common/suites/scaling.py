"""``quick`` scaling: shrink a benchmark for demos while keeping the offered token load.

With factor q in (0, 1]: token lengths and prompt counts × q, arrival rates ÷ q. Tokens per
request fall by q and requests per second rise by 1/q, so tokens per second offered to the
server stay the same, while an open-loop run (prompts ÷ rate) takes about q² of the time.
Rate sweeps keep that property: their minimum duration is scaled by q², so each step's prompt
count (rate × duration) scales by q like ``num_prompts``. Concurrency, burstiness and
``max_concurrency`` are left alone: they describe the traffic's shape, not its size.

A session benchmark scales its trace (``trace.scale`` × q: token counts, block lists, think
and arrival times × q, applied by ``traces.profiles.scale`` once the trace is read or
generated) and its sessions (``trace.sessions`` × q, at least 4); a generated profile's
sessions are cut to at most 8 turns (``turns_max`` and ``subagent_turns_max``; a median above
comes down to it), enough to show the context growing while a step's last sessions end soon
after it. Each turn then takes about q of its time, and ``step_s`` × q² keeps a quick run's
duration near q² of the full one, as for open loop (steps are short: a quick run shows the
mechanics, never a capacity). Session rates (and a rate search's start, max and
resolution) ÷ q keep the offered token load, as for open loop. Users, a search's
``max_steps``, the SLO tiers and the attainment target are kept: they are the question asked,
not its size (so a quick run meets TTFT targets more easily: its prompts are shorter).
"""

import math
import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

from arena.common.schemas.suite import (
    Benchmark,
    ClosedLoopBenchmark,
    OpenLoopBenchmark,
    SessionBenchmark,
    TraceSource,
)
from arena.common.traces.params import DEFAULT_SESSIONS, resolve_params

MIN_LENGTH_TOKENS = 8
MIN_PROMPTS = 4

T = TypeVar("T")
_QUICK_NOTE = re.compile(r"^quick=([0-9.eE+-]+):")


def quick_note(factor: float) -> str:
    q = f"{factor:g}"
    return f"quick={q}: lengths and counts ×{q}, rates ÷{q} — not comparable with full runs"


def quick_of(notes: Sequence[str]) -> float | None:
    """The factor a run's ``quick_note`` names; ``None``: full scale, or not recorded."""
    for note in notes:
        if match := _QUICK_NOTE.match(note):
            return float(match.group(1))
    return None


def scale_length(tokens: int, factor: float) -> int:
    """× factor, at least 8 tokens (a length already under 8 is kept), 0 stays 0."""
    if tokens == 0:
        return 0
    return max(min(tokens, MIN_LENGTH_TOKENS), round(tokens * factor))


def scale_count(prompts: int, factor: float) -> int:
    """× factor, at least 4 prompts (a count already under 4 is kept)."""
    return max(min(prompts, MIN_PROMPTS), round(prompts * factor))


def scale_rate(rate: float, factor: float) -> float:
    return rate if math.isinf(rate) else rate / factor


def scale_benchmark(bench: Benchmark, factor: float) -> Benchmark:
    if not 0 < factor <= 1:
        raise ValueError(f"quick factor must be in (0, 1], got {factor}")
    if factor == 1:
        return bench.model_copy(deep=True)
    if isinstance(bench, ClosedLoopBenchmark):
        return _scale_closed(bench, factor)
    if isinstance(bench, SessionBenchmark):
        return _scale_sessions(bench, factor)
    return _scale_open(bench, factor)


def _scale_closed(bench: ClosedLoopBenchmark, factor: float) -> ClosedLoopBenchmark:
    # only the fields someone set: what nobody chose stays unchosen (suites.expand reads that)
    return ClosedLoopBenchmark.model_validate(
        bench.model_dump(exclude_unset=True)
        | {
            "pp": _distinct(scale_length(n, factor) for n in bench.pp),
            "tg": _distinct(scale_length(n, factor) for n in bench.tg),
            "depth": _distinct(scale_length(n, factor) for n in bench.depth),
        }
    )


def _scale_open(bench: OpenLoopBenchmark, factor: float) -> OpenLoopBenchmark:
    def length(tokens: int | None) -> int | None:
        return None if tokens is None else scale_length(tokens, factor)

    return OpenLoopBenchmark.model_validate(
        bench.model_dump(exclude_unset=True)
        | {
            "input_len": length(bench.input_len),
            "output_len": length(bench.output_len),
            "prefix_len": scale_length(bench.prefix_len, factor),
            "num_prompts": scale_count(bench.num_prompts, factor),
            "request_rate": _distinct(scale_rate(r, factor) for r in bench.request_rate),
            "min_duration_s": bench.min_duration_s * factor * factor,
        }
    )


def _scale_sessions(bench: SessionBenchmark, factor: float) -> SessionBenchmark:
    trace = bench.trace
    sessions = (  # a file without a count is read whole: its length is unknown here
        None
        if trace.profile is None and trace.sessions is None
        else scale_count(trace.sessions or DEFAULT_SESSIONS, factor)
    )
    search = bench.search
    if search is not None and search.over == "session_rate":
        search = search.model_copy(
            update={
                name: scale_rate(getattr(search, name), factor)
                for name in ("start", "max", "resolution")
            }
        )
    return SessionBenchmark.model_validate(
        bench.model_dump()
        | {
            "trace": trace.model_dump()
            | {
                "scale": trace.scale * factor,
                "sessions": sessions,
                "params": _fewer_turns(trace),
            },
            "session_rate": _distinct(scale_rate(r, factor) for r in bench.session_rate),
            "search": None if search is None else search.model_dump(),
            "step_s": bench.step_s * factor * factor,
        }
    )


TURN_CAPS = ("turns", "subagent_turns")
"""Profile parameters ``<name>_max`` (with ``_min`` and ``_median``) bounding turns per session."""
QUICK_MAX_TURNS = 8


def _fewer_turns(trace: TraceSource) -> dict[str, float]:
    """A profile's parameters with its sessions cut to ``QUICK_MAX_TURNS`` turns, kept in
    their documented order (min ≤ median ≤ max); a file's turns are its own."""
    if trace.profile is None:
        return dict(trace.params)
    values = resolve_params(trace.profile, trace.params)
    params = dict(trace.params)
    for name in TURN_CAPS:
        most = f"{name}_max"
        if most not in values or values[most] <= QUICK_MAX_TURNS:
            continue
        params[most] = float(max(values.get(f"{name}_min", 1.0), QUICK_MAX_TURNS))
        median = f"{name}_median"
        if median in values and values[median] > params[most]:
            params[median] = params[most]
    return params


def _distinct(values: Iterable[T]) -> list[T]:
    """Scaling can map two values onto one; repeating a variant would only duplicate its key."""
    return list(dict.fromkeys(values))
