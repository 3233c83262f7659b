"""The seeded trace generator: coding-agent, chat and RAG sessions of documented shape.

No public agent trace can be fetched from a benchmark box, so Arena makes its own from named,
parameterised distributions (every parameter, its default and what it shapes is listed in
``params.PROFILES`` and in docs/traces.md). The same profile, session count, seed and parameters
give the same trace, byte for byte, on every machine: each session draws from its own
``numpy`` PCG64 stream keyed by (seed, session index), so the first 8 sessions of a 64-session
trace are the 8-session trace; floats are rounded (think times to the millisecond) before
they are written.

Shared text is expressed as block ids drawn from *pools* (a coding agent's system prompt, its
repository's files, a RAG corpus and its documents). Every pool has a range of ids of its own
(``pool << 32``), so two pools, even of two profiles, never share an id by accident.
"""

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from arena.common.traces.errors import TraceError
from arena.common.traces.format import (
    MAX_BLOCKS,
    MAX_SESSIONS,
    MAX_SUBAGENT_DEPTH,
    MAX_TRACE_REQUESTS,
    Session,
    Trace,
    TraceHeader,
    Turn,
)
from arena.common.traces.io import check_session
from arena.common.traces.params import SUBAGENT_TURNS_SIGMA, resolve_params

POOL_BITS = 32
"""Block id = (pool << 32) + index within the pool."""
SYSTEM_POOL, REPO_POOL, CHAT_POOL, CORPUS_POOL, DOC_POOL = 1, 2, 3, 4, 5
SESSION_STREAM, ARRIVAL_STREAM, POOL_STREAM = 1, 2, 3
"""Second word of each random stream's key: (seed, stream[, session index])."""


@dataclass(frozen=True)
class Pools:
    """Sizes of the shared pools, drawn once per trace (repository files, documents)."""

    file_blocks: list[int]
    """Blocks of each repository file (coding)."""
    file_first: list[int]
    """Index of each file's first block in the repository pool."""
    popularity: npt.NDArray[np.float64]
    """Probability of each file (coding) or document (rag) being read: Zipf-like."""


@dataclass(frozen=True)
class Shape:
    """A profile's resolved parameters and pools, as the session builders read them."""

    values: Mapping[str, float]
    pools: Pools

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def whole(self, name: str) -> int:
        return int(self.values[name])

    def blocks(self, tokens_param: str) -> int:
        """A token length as whole blocks: at least one where the length is not 0."""
        tokens = self.values[tokens_param]
        return 0 if tokens == 0 else max(1, round(tokens / self.values["block_size"]))


def _lognormal(rng: np.random.Generator, median: float, sigma: float) -> float:
    """A draw whose median is ``median``: ``median · e^(σ·z)``."""
    return median * math.exp(sigma * float(rng.standard_normal()))


def _bounded(value: float, low: int, high: int) -> int:
    return int(min(max(round(value), low), high))


def _think(rng: np.random.Generator, median: float, sigma: float, most: float) -> float:
    return round(min(_lognormal(rng, median, sigma), most), 3)


def _pool_ids(pool: int, first: int, count: int) -> list[int]:
    base = (pool << POOL_BITS) + first
    return list(range(base, base + count))


def _zipf(count: int, exponent: float) -> npt.NDArray[np.float64]:
    """Probability of rank k ∝ 1 / k^s over ``count`` items."""
    weights = 1.0 / np.arange(1, count + 1, dtype=np.float64) ** exponent
    probabilities: npt.NDArray[np.float64] = weights / weights.sum()
    return probabilities


# -- coding --------------------------------------------------------------------------------


def _coding_pools(rng: np.random.Generator, shape: Mapping[str, float]) -> Pools:
    """File sizes: lognormal, at most one block list (``MAX_BLOCKS``) each, so the pool's
    100 000 files stay within its 2^32 ids."""
    size, median, sigma = (
        shape["block_size"],
        shape["file_tokens_median"],
        shape["file_tokens_sigma"],
    )
    blocks = [
        min(MAX_BLOCKS, max(1, round(_lognormal(rng, median, sigma) / size)))
        for _ in range(int(shape["repo_files"]))
    ]
    firsts = [0, *np.cumsum(blocks)[:-1].tolist()]
    return Pools(blocks, [int(first) for first in firsts], _zipf(len(blocks), shape["file_zipf_s"]))


def _file(rng: np.random.Generator, shape: Shape) -> list[int]:
    pools = shape.pools
    index = int(rng.choice(len(pools.file_blocks), p=pools.popularity))
    return _pool_ids(REPO_POOL, pools.file_first[index], pools.file_blocks[index])


def _coding_session(rng: np.random.Generator, shape: Shape, session_id: str) -> Session:
    system = _pool_ids(SYSTEM_POOL, 0, shape.blocks("system_tokens"))
    count = _bounded(
        _lognormal(rng, shape["turns_median"], shape["turns_sigma"]), 1, shape.whole("turns_max")
    )
    turns = _coding_turns(rng, shape, count, len(system) * shape.whole("block_size"), depth=0)
    return Session(id=session_id, system_blocks=system, turns=turns)


def _coding_turns(
    rng: np.random.Generator, shape: Shape, count: int, context: int, depth: int
) -> list[Turn]:
    """Turns until ``count`` or until the next one's prompt and answer would pass
    ``context_max``."""
    size = shape.whole("block_size")
    turns: list[Turn] = []
    for index in range(count):
        blocks: list[int] = []
        if index == 0:
            if depth == 0 and rng.random() < shape["context_file_p"]:
                blocks = _file(rng, shape)
            unique = _lognormal(rng, shape["task_tokens_median"], 0.8)
        elif rng.random() < shape["file_read_p"]:
            blocks = _file(rng, shape)
            unique = float(rng.integers(16, 129))
        else:
            unique = _lognormal(rng, shape["tool_tokens_median"], shape["tool_tokens_sigma"])
        input_tokens = _bounded(unique, 1, shape.whole("tool_tokens_max"))
        output = _bounded(
            _lognormal(rng, shape["output_median"], shape["output_sigma"]),
            1,
            shape.whole("output_max"),
        )
        think = _think(rng, shape["think_median_s"], shape["think_sigma"], shape["think_max_s"])
        grown = context + len(blocks) * size + input_tokens + output
        if grown > shape["context_max"]:
            if turns or depth > 0:
                break
            blocks, input_tokens = _fit_first(shape, context, blocks, input_tokens, output)
            grown = context + len(blocks) * size + input_tokens + output
        context = grown
        subagents: list[Session] = []
        spawns = depth < min(1, MAX_SUBAGENT_DEPTH) and index < count - 1
        if spawns and rng.random() < shape["subagent_p"]:
            subagents = _subagents(rng, shape, context, depth)
        turns.append(
            Turn(
                blocks=blocks,
                input_tokens=input_tokens,
                output_tokens=output,
                think_s=think,
                subagents=subagents,
            )
        )
    return _last_without_think(turns)


def _subagents(rng: np.random.Generator, shape: Shape, context: int, depth: int) -> list[Session]:
    """k short sessions that start from the parent's conversation (``context`` tokens); a
    sub-agent that could not make one turn within ``context_max`` is left out."""
    low, high = shape.whole("subagents_min"), shape.whole("subagents_max")
    spawned = int(rng.integers(low, high + 1))
    children: list[Session] = []
    for _ in range(spawned):
        count = _bounded(
            _lognormal(rng, shape["subagent_turns_median"], SUBAGENT_TURNS_SIGMA),
            1,
            shape.whole("subagent_turns_max"),
        )
        turns = _coding_turns(rng, shape, count, context, depth + 1)
        if turns:  # none when the parent's context leaves no room for even one turn
            children.append(Session(id=f"a{len(children) + 1}", turns=turns))
    return children


def _fit_first(
    shape: Shape, context: int, blocks: list[int], input_tokens: int, output: int
) -> tuple[list[int], int]:
    """A session's first turn cut to fit ``context_max``: its shared blocks left out, then its
    new text shortened (the parameters leave room for one token beside the prefix and the
    longest answer)."""
    room = int(shape["context_max"]) - context - output
    if len(blocks) * shape.whole("block_size") + input_tokens > room:
        blocks = []
    return blocks, max(1, min(input_tokens, room))


def _within_context(shape: Shape, prefix_blocks: int, turns: list[Turn]) -> list[Turn]:
    """Turns until the next one's prompt and answer would pass ``context_max`` (the first one
    cut to fit): chat and RAG sessions end as a coding session does."""
    size = shape.whole("block_size")
    context = prefix_blocks * size
    kept: list[Turn] = []
    for turn in turns:
        grown = context + len(turn.blocks) * size + turn.input_tokens + turn.output_tokens
        if grown > shape["context_max"]:
            if kept:
                break
            blocks, unique = _fit_first(
                shape, context, turn.blocks, turn.input_tokens, turn.output_tokens
            )
            turn = turn.model_copy(update={"blocks": blocks, "input_tokens": unique})
            grown = context + len(blocks) * size + unique + turn.output_tokens
        context = grown
        kept.append(turn)
    return kept


def _last_without_think(turns: list[Turn]) -> list[Turn]:
    """Nothing follows the last turn, so no wait after it."""
    if turns:
        turns[-1] = turns[-1].model_copy(update={"think_s": 0.0})
    return turns


# -- chat ----------------------------------------------------------------------------------


def _uniform_int(rng: np.random.Generator, shape: Shape, low: str, high: str) -> int:
    return int(rng.integers(shape.whole(low), shape.whole(high) + 1))


def _uniform_think(rng: np.random.Generator, shape: Shape) -> float:
    return round(float(rng.uniform(shape["think_min_s"], shape["think_max_s"])), 3)


def _chat_session(rng: np.random.Generator, shape: Shape, session_id: str) -> Session:
    count = _uniform_int(rng, shape, "turns_min", "turns_max")
    turns = [
        Turn(
            input_tokens=_uniform_int(rng, shape, "user_tokens_min", "user_tokens_max"),
            output_tokens=_uniform_int(rng, shape, "answer_tokens_min", "answer_tokens_max"),
            think_s=_uniform_think(rng, shape),
        )
        for _ in range(count)
    ]
    system = _pool_ids(CHAT_POOL, 0, shape.blocks("system_tokens"))
    fitting = _within_context(shape, len(system), turns)
    return Session(id=session_id, system_blocks=system, turns=_last_without_think(fitting))


# -- rag -----------------------------------------------------------------------------------


def _rag_pools(_rng: np.random.Generator, shape: Mapping[str, float]) -> Pools:
    return Pools([], [], _zipf(int(shape["doc_pool"]), shape["doc_zipf_s"]))


def _rag_session(rng: np.random.Generator, shape: Shape, session_id: str) -> Session:
    count = _uniform_int(rng, shape, "turns_min", "turns_max")
    per_doc = shape.blocks("doc_tokens")
    picked = min(shape.whole("docs_per_turn"), shape.whole("doc_pool"))
    turns = []
    for _ in range(count):
        documents = rng.choice(
            len(shape.pools.popularity), size=picked, replace=False, p=shape.pools.popularity
        )
        blocks = [
            block
            for document in documents.tolist()
            for block in _pool_ids(DOC_POOL, int(document) * per_doc, per_doc)
        ]
        turns.append(
            Turn(
                blocks=blocks,
                input_tokens=_uniform_int(rng, shape, "question_tokens_min", "question_tokens_max"),
                output_tokens=_uniform_int(rng, shape, "answer_tokens_min", "answer_tokens_max"),
                think_s=_uniform_think(rng, shape),
            )
        )
    corpus = _pool_ids(CORPUS_POOL, 0, shape.blocks("corpus_tokens"))
    fitting = _within_context(shape, len(corpus), turns)
    return Session(id=session_id, system_blocks=corpus, turns=_last_without_think(fitting))


def _no_pools(_rng: np.random.Generator, _shape: Mapping[str, float]) -> Pools:
    return Pools([], [], np.ones(1))


SESSIONS: dict[str, Callable[[np.random.Generator, "Shape", str], Session]] = {
    "coding": _coding_session,
    "chat": _chat_session,
    "rag": _rag_session,
}
POOLS: dict[str, Callable[[np.random.Generator, Mapping[str, float]], Pools]] = {
    "coding": _coding_pools,
    "chat": _no_pools,
    "rag": _rag_pools,
}


def generate(
    profile: str, sessions: int, seed: int, params: Mapping[str, float] | None = None
) -> Trace:
    """``sessions`` sessions of ``profile`` (ids ``s0``, ``s1``, ...), seeded."""
    header, made = generated(profile, sessions, seed, params)
    return Trace(header=header, sessions=list(made))


def generated(
    profile: str, sessions: int, seed: int, params: Mapping[str, float] | None = None
) -> tuple[TraceHeader, Iterator[Session]]:
    """The header (parameters checked now) and the sessions, made one at a time as they are
    taken: a large trace is written without being held in memory."""
    if not 0 < sessions <= MAX_SESSIONS:
        raise ValueError(f"sessions must be in 1..{MAX_SESSIONS}, got {sessions}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    values = resolve_params(profile, params or {})
    header = TraceHeader(
        block_size=int(values["block_size"]),
        profile=profile,
        seed=seed,
        params=values,
        description=f"Arena trace generator: {profile}, {sessions} sessions, seed {seed}",
    )
    return header, _sessions(profile, sessions, seed, values)


def _sessions(
    profile: str, sessions: int, seed: int, values: Mapping[str, float]
) -> Iterator[Session]:
    """Session i from its own stream; with ``arrival_rate``, Poisson arrivals: exponential
    gaps of mean 1/rate, one per session after the first (which starts at 0). Each session is
    held to the caps a trace file is read with (``check_session``, ``MAX_TRACE_REQUESTS``):
    the suite refuses parameters that could pass them, this is the last word."""
    shape = Shape(values, POOLS[profile](np.random.default_rng([seed, POOL_STREAM]), values))
    arrivals = np.random.default_rng([seed, ARRIVAL_STREAM])
    rate = values["arrival_rate"]
    at = 0.0
    requests = 0
    for index in range(sessions):
        session = SESSIONS[profile](
            np.random.default_rng([seed, SESSION_STREAM, index]), shape, f"s{index}"
        )
        requests += check_session(session, f"generated {profile} trace", None)
        if requests > MAX_TRACE_REQUESTS:
            raise TraceError(
                f"generated {profile} trace",
                None,
                f"more than {MAX_TRACE_REQUESTS:,} turns by session {session.id}",
            )
        if rate > 0:
            if index > 0:
                at += float(arrivals.exponential(1 / rate))
            session.arrival_s = round(at, 3)
        yield session


def scale(trace: Trace, factor: float) -> Trace:
    """``quick`` scaling of a trace: token counts, think times and arrival times × factor,
    block lists cut to their first ``round(n × factor)`` ids; every count that was not 0
    stays at least 1 (an answer keeps at least one token). Sharing survives: a cut list keeps
    the ids every other session also starts with."""
    if not 0 < factor <= 1:
        raise ValueError(f"scale factor must be in (0, 1], got {factor}")
    if factor == 1:
        return trace.model_copy(deep=True)
    header = trace.header.model_copy(
        update={"description": f"{trace.header.description} (quick ×{factor:g})".strip()}
    )
    return Trace(header=header, sessions=[_scaled(session, factor) for session in trace.sessions])


def _scaled(session: Session, factor: float) -> Session:
    arrival = None if session.arrival_s is None else round(session.arrival_s * factor, 3)
    return Session(
        id=session.id,
        arrival_s=arrival,
        system_blocks=_cut(session.system_blocks, factor),
        turns=[
            Turn(
                blocks=_cut(turn.blocks, factor),
                input_tokens=_shrunk(turn.input_tokens, factor),
                output_tokens=_shrunk(turn.output_tokens, factor),
                think_s=round(turn.think_s * factor, 3),
                subagents=[_scaled(child, factor) for child in turn.subagents],
            )
            for turn in session.turns
        ],
    )


def _shrunk(count: int, factor: float) -> int:
    return 0 if count == 0 else max(1, round(count * factor))


def _cut(blocks: list[int], factor: float) -> list[int]:
    return blocks[: _shrunk(len(blocks), factor)]
