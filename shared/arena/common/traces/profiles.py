"""The seeded trace generator: coding-agent, chat and RAG sessions of documented shape.

No public agent trace can be fetched from a benchmark box, so Arena makes its own from named,
parameterised distributions (every parameter, its default and what it shapes is listed in
``PROFILES`` and in docs/traces.md). The same profile, session count, seed and parameters
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

from arena.common.traces.format import (
    MAX_BLOCKS,
    MAX_SUBAGENT_DEPTH,
    Session,
    Trace,
    TraceHeader,
    Turn,
)

POOL_BITS = 32
"""Block id = (pool << 32) + index within the pool."""
SYSTEM_POOL, REPO_POOL, CHAT_POOL, CORPUS_POOL, DOC_POOL = 1, 2, 3, 4, 5
SESSION_STREAM, ARRIVAL_STREAM, POOL_STREAM = 1, 2, 3
"""Second word of each random stream's key: (seed, stream[, session index])."""
MAX_GENERATED_SESSIONS = 100_000
MAX_OUTPUT_TOKENS = 131_072


@dataclass(frozen=True)
class Param:
    """One documented parameter of a profile: its default, its bounds and what it shapes."""

    default: float
    help: str
    low: float = 0.0
    high: float = math.inf
    integer: bool = False


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
class Profile:
    name: str
    description: str
    params: Mapping[str, Param]
    session: Callable[[np.random.Generator, "Shape", str], Session]
    output_param: str
    """The parameter bounding every answer's ``output_tokens``."""


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


COMMON: dict[str, Param] = {
    "block_size": Param(
        64, "Tokens per block id (AgentX hashes KV blocks of 64 tokens).", 1, 4096, True
    ),
    "arrival_rate": Param(
        0,
        "Sessions per second of Poisson arrival times written into the trace (for "
        "replay_timestamps); 0: no arrival times, the benchmark's load decides.",
        0,
        10_000,
    ),
}


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

CODING: dict[str, Param] = {
    "system_tokens": Param(
        10240, "System prompt and tool definitions, the same blocks in every session.", 0, 65536
    ),
    "turns_median": Param(12, "Median turns per session (lognormal).", 1, 1000),
    "turns_sigma": Param(1.0, "Spread (σ of the log) of turns per session.", 0, 4),
    "turns_max": Param(200, "Most turns per session.", 1, 1000, True),
    "task_tokens_median": Param(
        600, "Median tokens of the user's task (turn 0's unique text).", 1, 100_000
    ),
    "context_file_p": Param(
        0.5,
        "Chance that turn 0 carries a repository file right after the system prompt: the "
        "cross-session reuse beyond the system prompt that a prefix cache can serve.",
        0,
        1,
    ),
    "tool_tokens_median": Param(
        150, "Median tokens of a later turn's tool output (unique text).", 1, 100_000
    ),
    "tool_tokens_sigma": Param(1.2, "Spread (σ of the log) of tool output.", 0, 4),
    "tool_tokens_max": Param(16384, "Most tokens of one tool output.", 1, 1_000_000, True),
    "file_read_p": Param(
        0.1,
        "Chance that a later turn's tool output is a repository file (shared blocks).",
        0,
        1,
    ),
    "repo_files": Param(512, "Files in the shared repository pool.", 1, 100_000, True),
    "file_tokens_median": Param(1500, "Median tokens of a repository file.", 1, 100_000),
    "file_tokens_sigma": Param(0.8, "Spread (σ of the log) of file sizes.", 0, 4),
    "file_zipf_s": Param(1.1, "Zipf exponent of file popularity (0: uniform).", 0, 5),
    "output_median": Param(150, "Median answer tokens.", 1, MAX_OUTPUT_TOKENS),
    "output_sigma": Param(1.0, "Spread (σ of the log) of answers.", 0, 4),
    "output_max": Param(4096, "Most answer tokens.", 1, MAX_OUTPUT_TOKENS, True),
    "think_median_s": Param(1.5, "Median tool/think time between turns, seconds.", 0, 3600),
    "think_sigma": Param(0.7, "Spread (σ of the log) of think times.", 0, 4),
    "think_max_s": Param(60, "Longest think time, seconds.", 0, 3600),
    "context_max": Param(
        131072,
        "Most tokens of one request, prompt and answer (the context window): a session ends "
        "before a turn would pass it.",
        1024,
        10_000_000,
        True,
    ),
    "subagent_p": Param(
        0.01, "Chance that a turn spawns sub-agents (not the last turn, not in one).", 0, 1
    ),
    "subagents_min": Param(2, "Fewest sub-agents a spawning turn starts.", 1, 32, True),
    "subagents_max": Param(4, "Most sub-agents a spawning turn starts.", 1, 32, True),
    "subagent_turns_median": Param(4, "Median turns of a sub-agent session.", 1, 1000),
    "subagent_turns_max": Param(12, "Most turns of a sub-agent session.", 1, 1000, True),
}


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
        if grown > shape["context_max"] and (turns or depth > 0):
            break
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
            _lognormal(rng, shape["subagent_turns_median"], 0.5),
            1,
            shape.whole("subagent_turns_max"),
        )
        turns = _coding_turns(rng, shape, count, context, depth + 1)
        if turns:  # none when the parent's context leaves no room for even one turn
            children.append(Session(id=f"a{len(children) + 1}", turns=turns))
    return children


def _last_without_think(turns: list[Turn]) -> list[Turn]:
    """Nothing follows the last turn, so no wait after it."""
    if turns:
        turns[-1] = turns[-1].model_copy(update={"think_s": 0.0})
    return turns


# -- chat ----------------------------------------------------------------------------------

CHAT: dict[str, Param] = {
    "system_tokens": Param(512, "Short system prompt, shared by every session.", 0, 65536),
    "turns_min": Param(1, "Fewest turns per session (uniform).", 1, 1000, True),
    "turns_max": Param(8, "Most turns per session.", 1, 1000, True),
    "user_tokens_min": Param(50, "Shortest user message (uniform).", 1, 100_000, True),
    "user_tokens_max": Param(500, "Longest user message.", 1, 100_000, True),
    "answer_tokens_min": Param(200, "Shortest answer (uniform).", 1, MAX_OUTPUT_TOKENS, True),
    "answer_tokens_max": Param(800, "Longest answer.", 1, MAX_OUTPUT_TOKENS, True),
    "think_min_s": Param(5, "Shortest reading/typing time between turns, seconds.", 0, 3600),
    "think_max_s": Param(30, "Longest reading/typing time, seconds.", 0, 3600),
}


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
    return Session(id=session_id, system_blocks=system, turns=_last_without_think(turns))


# -- rag -----------------------------------------------------------------------------------

RAG: dict[str, Param] = {
    "corpus_tokens": Param(
        4096,
        "Shared corpus prefix (instructions and standing context) of every session.",
        0,
        131072,
    ),
    "turns_min": Param(1, "Fewest turns per session (uniform).", 1, 1000, True),
    "turns_max": Param(3, "Most turns per session.", 1, 1000, True),
    "docs_per_turn": Param(3, "Documents retrieved per turn.", 0, 64, True),
    "doc_pool": Param(2000, "Documents that can be retrieved.", 1, 100_000, True),
    "doc_tokens": Param(512, "Tokens of one document.", 1, 65536),
    "doc_zipf_s": Param(1.1, "Zipf exponent of document popularity (0: uniform).", 0, 5),
    "question_tokens_min": Param(20, "Shortest question (uniform).", 1, 100_000, True),
    "question_tokens_max": Param(120, "Longest question.", 1, 100_000, True),
    "answer_tokens_min": Param(100, "Shortest answer (uniform).", 1, MAX_OUTPUT_TOKENS, True),
    "answer_tokens_max": Param(400, "Longest answer.", 1, MAX_OUTPUT_TOKENS, True),
    "think_min_s": Param(3, "Shortest time between turns, seconds.", 0, 3600),
    "think_max_s": Param(20, "Longest time between turns, seconds.", 0, 3600),
}


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
    return Session(id=session_id, system_blocks=corpus, turns=_last_without_think(turns))


def _no_pools(_rng: np.random.Generator, _shape: Mapping[str, float]) -> Pools:
    return Pools([], [], np.ones(1))


PROFILES: dict[str, Profile] = {
    "coding": Profile(
        "coding",
        "Coding-agent sessions: many turns of growing context over a shared system prompt and "
        "repository, short answers, tool time between turns, occasional sub-agents.",
        {**COMMON, **CODING},
        _coding_session,
        "output_max",
    ),
    "chat": Profile(
        "chat",
        "Chat sessions: a few turns, a short shared system prompt, a person reading and typing "
        "between turns.",
        {**COMMON, **CHAT},
        _chat_session,
        "answer_tokens_max",
    ),
    "rag": Profile(
        "rag",
        "Retrieval-augmented questions: a shared corpus prefix, popular documents retrieved "
        "again and again, a short question, a medium answer.",
        {**COMMON, **RAG},
        _rag_session,
        "answer_tokens_max",
    ),
}
POOLS: dict[str, Callable[[np.random.Generator, Mapping[str, float]], Pools]] = {
    "coding": _coding_pools,
    "chat": _no_pools,
    "rag": _rag_pools,
}
ORDERED = (
    ("subagents_min", "subagents_max"),
    ("subagent_turns_median", "subagent_turns_max"),
    ("turns_min", "turns_max"),
    ("turns_median", "turns_max"),
    ("user_tokens_min", "user_tokens_max"),
    ("answer_tokens_min", "answer_tokens_max"),
    ("question_tokens_min", "question_tokens_max"),
    ("think_min_s", "think_max_s"),
    ("think_median_s", "think_max_s"),
    ("output_median", "output_max"),
    ("tool_tokens_median", "tool_tokens_max"),
)
"""Pairs whose first may not exceed the second."""


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown trace profile {name!r} (known: {', '.join(sorted(PROFILES))})"
        ) from None


def resolve_params(name: str, given: Mapping[str, float]) -> dict[str, float]:
    """Every parameter of profile ``name``: the given ones checked, the others defaulted.
    ValueError names an unknown parameter (listing the known ones) or a value out of range."""
    known = profile_named(name).params
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)} of trace profile {name!r} "
            f"(known: {', '.join(sorted(known))})"
        )
    values: dict[str, float] = {}
    for key, param in known.items():
        value = float(given.get(key, param.default))
        if not param.low <= value <= param.high:
            raise ValueError(
                f"{name}.{key} must be in [{param.low:g}, {param.high:g}], got {value:g}"
            )
        if param.integer and not value.is_integer():
            raise ValueError(f"{name}.{key} must be a whole number, got {value:g}")
        values[key] = value
    for low, high in ORDERED:
        if low in values and high in values and values[low] > values[high]:
            raise ValueError(
                f"{name}.{low} ({values[low]:g}) must not exceed {high} ({values[high]:g})"
            )
    _check_block_lists(name, values)
    return values


def _check_block_lists(name: str, values: Mapping[str, float]) -> None:
    """A shared prefix, or a turn's documents, must fit one block list of the format."""
    size = values["block_size"]
    lists = {
        "system_tokens": values.get("system_tokens", 0),
        "corpus_tokens": values.get("corpus_tokens", 0),
        "docs_per_turn × doc_tokens": values.get("docs_per_turn", 0)
        * max(1, round(values.get("doc_tokens", 0) / size))
        * size,
    }
    for what, tokens in lists.items():
        if tokens / size > MAX_BLOCKS:
            raise ValueError(
                f"{name}: {what} makes {tokens / size:,.0f} blocks of {size:g} tokens; a block "
                f"list holds at most {MAX_BLOCKS:,} (raise block_size)"
            )


def output_ceiling(profile: str, params: Mapping[str, float] | None = None) -> int:
    """The most ``output_tokens`` any turn of ``profile`` can ask (a model's context must
    hold it)."""
    return int(resolve_params(profile, params or {})[profile_named(profile).output_param])


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
    if not 0 < sessions <= MAX_GENERATED_SESSIONS:
        raise ValueError(f"sessions must be in 1..{MAX_GENERATED_SESSIONS}, got {sessions}")
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
    return header, _sessions(profile_named(profile), sessions, seed, values)


def _sessions(
    profile: Profile, sessions: int, seed: int, values: Mapping[str, float]
) -> Iterator[Session]:
    """Session i from its own stream; with ``arrival_rate``, Poisson arrivals: exponential
    gaps of mean 1/rate, one per session after the first (which starts at 0)."""
    shape = Shape(values, POOLS[profile.name](np.random.default_rng([seed, POOL_STREAM]), values))
    arrivals = np.random.default_rng([seed, ARRIVAL_STREAM])
    rate = values["arrival_rate"]
    at = 0.0
    for index in range(sessions):
        session = profile.session(
            np.random.default_rng([seed, SESSION_STREAM, index]), shape, f"s{index}"
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
