"""Expand a benchmark into its variants: the parameter combinations each run repeats.

Closed loop follows llama-benchy's loop order (pp, then tg, then depth, then concurrency);
open loop has one variant per request rate (a rate sweep has several); a session benchmark
has one per load value (``u4``: 4 users, ``srate0.5``: 0.5 sessions/s, ``replay``: the
trace's own arrival times). A capacity search makes its variants as it goes: nothing is known
before it runs but their form and range (``session_variant_allowed``).
"""

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from arena.common.schemas.suite import (
    Benchmark,
    ClosedLoopBenchmark,
    OpenLoopBenchmark,
    SessionBenchmark,
    TraceSource,
)
from arena.common.traces.format import MAX_OUTPUT_TOKENS
from arena.common.traces.params import (
    DEFAULT_SESSIONS,
    output_ceiling,
    requests_per_session_mean,
    resolve_params,
    session_requests_max,
)


@dataclass(frozen=True)
class ClosedVariant:
    key: str
    pp: int
    tg: int
    depth: int
    concurrency: int


@dataclass(frozen=True)
class OpenVariant:
    key: str
    rate: float
    num_prompts: int


SessionLoad = Literal["users", "session_rate", "replay"]


@dataclass(frozen=True)
class SessionVariant:
    key: str
    over: SessionLoad
    load: float
    """Concurrent users, sessions started per second, or 0 for a replay."""


Variant = ClosedVariant | OpenVariant | SessionVariant

SHAREGPT_MIN_LEN = 4
SHAREGPT_MAX_PROMPT = 1024
SHAREGPT_MAX_TOTAL = 2048
"""vLLM's ShareGPT filter: prompt ≥ 4 and ≤ 1024 tokens, output ≥ 4 (unless fixed), total ≤ 2048."""


def format_rate(rate: float) -> str:
    return "inf" if math.isinf(rate) else f"{rate:g}"


def closed_variants(bench: ClosedLoopBenchmark) -> list[ClosedVariant]:
    return [
        ClosedVariant(f"pp{pp}/tg{tg}/d{depth}/c{c}", pp, tg, depth, c)
        for pp in bench.pp
        for tg in bench.tg
        for depth in bench.depth
        for c in bench.concurrency
    ]


def open_variants(bench: OpenLoopBenchmark) -> list[OpenVariant]:
    return [
        OpenVariant(f"rate{format_rate(rate)}", rate, bench.prompts_for_rate(rate))
        for rate in bench.request_rate
    ]


_SESSION_KEY = re.compile(r"^(?:u([1-9][0-9]{0,8})|srate([0-9][0-9.e+-]{0,23})|(replay))$")


def session_variant(over: SessionLoad, load: float) -> SessionVariant:
    """The variant of one load step: ``u{n}``, ``srate{r:g}`` or ``replay``."""
    if over == "users":
        return SessionVariant(f"u{round(load)}", over, float(round(load)))
    if over == "session_rate":
        return SessionVariant(f"srate{load:g}", over, load)
    return SessionVariant("replay", over, 0.0)


def parse_session_variant(key: str) -> SessionVariant | None:
    """A session variant's key back into its load; None for a key of another form."""
    match = _SESSION_KEY.match(key)
    if match is None:
        return None
    users, rate, _replay = match.groups()
    if users is not None:
        return SessionVariant(key, "users", float(users))
    if rate is not None:
        try:
            value = float(rate)
        except ValueError:
            return None
        if not math.isfinite(value) or value <= 0 or f"{value:g}" != rate:
            return None
        return SessionVariant(key, "session_rate", value)
    return SessionVariant(key, "replay", 0.0)


def session_variants(bench: SessionBenchmark) -> list[SessionVariant]:
    """The variants declared up front, in order; a search's are made at run time: none."""
    if bench.users:
        return [session_variant("users", n) for n in bench.users]
    if bench.session_rate:
        return [session_variant("session_rate", r) for r in bench.session_rate]
    if bench.replay_timestamps:
        return [session_variant("replay", 0.0)]
    return []


def session_variant_allowed(bench: SessionBenchmark, key: str) -> bool:
    """Whether ``key`` can be a variant of this benchmark: a declared one, or for a search a
    load of its kind in (0, max] (users whole)."""
    if bench.search is None:
        return key in {variant.key for variant in session_variants(bench)}
    variant = parse_session_variant(key)
    if variant is None or variant.over != bench.search.over:
        return False
    return 0 < variant.load <= bench.search.max


def variants(bench: Benchmark) -> list[Variant]:
    """Every variant known before the benchmark runs (a search's: none)."""
    if isinstance(bench, ClosedLoopBenchmark):
        return list(closed_variants(bench))
    if isinstance(bench, SessionBenchmark):
        return list(session_variants(bench))
    return list(open_variants(bench))


TURN_INTERVAL_ESTIMATE_S = 5.0
"""Session estimates assume a user sends a turn about this often (answer plus think time)."""
TRACE_TURNS_ESTIMATE = 8
"""Turns per session assumed for a trace file, which the controller cannot read."""


def expected_requests(bench: Benchmark, runs: int, worst: bool = False) -> int:
    """Measured requests of one benchmark over all runs (warm-ups and probes excluded).

    Exact for closed and open loop. For a session benchmark an ESTIMATE (the engine's speed
    decides the real count): per step, ``users`` send a turn every ``TURN_INTERVAL_ESTIMATE_S``
    (× the trace's quick ``scale``); a session rate starts ``rate × step_s`` sessions and a
    replay the trace's sessions (a file's count is guessed as a profile's default), each of
    the profile's mean requests per session (the lognormal's mean capped at ``turns_max``,
    sub-agents' expected turns included), or with ``worst`` the most one session can make
    (what the controller's request limit is checked with); a search runs ``max_steps`` steps
    at its ``max`` load."""
    if isinstance(bench, ClosedLoopBenchmark):
        return runs * sum(v.concurrency for v in closed_variants(bench))
    if isinstance(bench, SessionBenchmark):
        return runs * sum(_step_requests(bench, over, load, worst) for over, load in _steps(bench))
    return runs * sum(v.num_prompts for v in open_variants(bench))


def _steps(bench: SessionBenchmark) -> Iterator[tuple[SessionLoad, float]]:
    if bench.search is not None:
        for _ in range(bench.search.max_steps):
            yield bench.search.over, bench.search.max
        return
    for variant in session_variants(bench):
        yield variant.over, variant.load


def _step_requests(bench: SessionBenchmark, over: SessionLoad, load: float, worst: bool) -> int:
    if over == "users":
        interval = TURN_INTERVAL_ESTIMATE_S * bench.trace.scale
        return max(1, math.ceil(load * bench.step_s / interval))
    turns = _requests_per_session(bench.trace, worst)
    if over == "session_rate":
        return math.ceil(max(1, math.ceil(load * bench.step_s)) * turns)
    return math.ceil((bench.trace.sessions or DEFAULT_SESSIONS) * turns)


def _requests_per_session(trace: TraceSource, worst: bool) -> float:
    if trace.profile is None:
        return TRACE_TURNS_ESTIMATE
    params = resolve_params(trace.profile, trace.params)
    return session_requests_max(params) if worst else max(1.0, requests_per_session_mean(params))


def length_bounds(length: int, range_ratio: float, minimum: int = 0) -> tuple[int, int]:
    """vLLM's inclusive ``[floor(L·(1−r)), ceil(L·(1+r))]``, both ends at least ``minimum``."""
    low = math.floor(length * (1 - range_ratio))
    high = math.ceil(length * (1 + range_ratio))
    return max(low, minimum), max(high, minimum)


def _open_ceiling(bench: OpenLoopBenchmark) -> int:
    if bench.output_len is None:  # ShareGPT with the data's own completion lengths
        return SHAREGPT_MAX_TOTAL - SHAREGPT_MIN_LEN
    if bench.dataset == "sharegpt":
        return bench.output_len
    return length_bounds(bench.output_len, bench.range_ratio, minimum=1)[1]


def output_ceilings(bench: Benchmark) -> Mapping[str, int]:
    """Each variant key of the benchmark with the most output tokens (``max_tokens``) one of
    its requests asks for, by the generators' rules (the agent's and the reference tools'):
    closed loop its ``tg``; the random dataset the top of ``output_len``'s range; ShareGPT a
    fixed ``output_len``, else the longest completion vLLM's filter keeps; a session benchmark
    its profile's longest answer, or for a trace file (which only the agent reads) the most a
    trace turn may ask (``MAX_OUTPUT_TOKENS``). A search's mapping answers for every key it
    may make (``SessionCeilings``)."""
    if isinstance(bench, ClosedLoopBenchmark):
        return {variant.key: variant.tg for variant in closed_variants(bench)}
    if isinstance(bench, SessionBenchmark):
        return SessionCeilings(bench, session_output_ceiling(bench.trace))
    ceiling = _open_ceiling(bench)
    return {variant.key: ceiling for variant in open_variants(bench)}


def session_output_ceiling(trace: TraceSource) -> int:
    if trace.profile is None:
        return MAX_OUTPUT_TOKENS
    return output_ceiling(trace.profile, trace.params)


class SessionCeilings(Mapping[str, int]):
    """A session benchmark's ceiling for each variant it may make: iterating lists the
    declared variants; looking up takes any key ``session_variant_allowed`` accepts, so a
    search's steps (made at run time) are known by their form."""

    def __init__(self, bench: SessionBenchmark, ceiling: int) -> None:
        self._bench = bench
        self._ceiling = ceiling
        self._declared = [variant.key for variant in session_variants(bench)]

    def __getitem__(self, key: str) -> int:
        if not session_variant_allowed(self._bench, key):
            raise KeyError(key)
        return self._ceiling

    def __iter__(self) -> Iterator[str]:
        return iter(self._declared)

    def __len__(self) -> int:
        return len(self._declared)
