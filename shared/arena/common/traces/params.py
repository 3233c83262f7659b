"""The trace generator's profiles as parameters: names, defaults, bounds and what each shapes.

Kept apart from the generator (``profiles``), which needs NumPy: the suite loader checks a
suite's ``trace.params`` and arenactl lists them without loading it.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

from arena.common.traces.format import (
    MAX_BLOCKS,
    MAX_OUTPUT_TOKENS,
    MAX_SESSION_REQUESTS,
    MAX_SESSION_THINK_S,
    MAX_TRACE_REQUESTS,
)

DEFAULT_SESSIONS = 64
"""Sessions a profile makes when ``trace.sessions`` is not given."""
SUBAGENT_TURNS_SIGMA = 0.5
"""Spread (σ of the log) of a coding sub-agent's turns around ``subagent_turns_median``."""


@dataclass(frozen=True)
class Param:
    """One documented parameter of a profile: its default, its bounds and what it shapes."""

    default: float
    help: str
    low: float = 0.0
    high: float = math.inf
    integer: bool = False


@dataclass(frozen=True)
class ProfileParams:
    name: str
    description: str
    params: Mapping[str, Param]
    output_param: str
    """The parameter bounding every answer's ``output_tokens``."""


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
    "context_max": Param(
        131072,
        "Most tokens of one request, prompt and answer (the context window): a session ends "
        "before a turn would pass it.",
        1024,
        10_000_000,
        True,
    ),
}


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
    "context_max": Param(
        131072,
        "Most tokens of one request, prompt and answer (the context window): a session ends "
        "before a turn would pass it.",
        1024,
        10_000_000,
        True,
    ),
}


PROFILES: dict[str, ProfileParams] = {
    "coding": ProfileParams(
        "coding",
        "Coding-agent sessions: many turns of growing context over a shared system prompt and "
        "repository, short answers, tool time between turns, occasional sub-agents.",
        {**COMMON, **CODING},
        "output_max",
    ),
    "chat": ProfileParams(
        "chat",
        "Chat sessions: a few turns, a short shared system prompt, a person reading and typing "
        "between turns.",
        {**COMMON, **CHAT},
        "answer_tokens_max",
    ),
    "rag": ProfileParams(
        "rag",
        "Retrieval-augmented questions: a shared corpus prefix, popular documents retrieved "
        "again and again, a short question, a medium answer.",
        {**COMMON, **RAG},
        "answer_tokens_max",
    ),
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


def profile_named(name: str) -> ProfileParams:
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
    _check_sizes(name, values)
    return values


def _check_sizes(name: str, values: Mapping[str, float]) -> None:
    """A first turn must fit ``context_max`` beside the shared prefix and the longest answer,
    and the worst session (every turn, every sub-agent) must fit the trace format's caps."""
    tokens = values.get("system_tokens", values.get("corpus_tokens", 0))
    size = values["block_size"]
    prefix = 0 if tokens == 0 else max(1, round(tokens / size)) * size  # as whole blocks
    answer = values[profile_named(name).output_param]
    if prefix + answer >= values["context_max"]:
        raise ValueError(
            f"{name}: the shared prefix ({prefix:g}) and the longest answer ({answer:g}) leave "
            f"no room for a turn within context_max ({values['context_max']:g})"
        )
    requests = session_requests_max(values)
    if requests > MAX_SESSION_REQUESTS:
        raise ValueError(
            f"{name}: a session may make {requests:,} requests with its sub-agents; a trace "
            f"session may make at most {MAX_SESSION_REQUESTS:,} (lower turns_max, "
            "subagents_max or subagent_turns_max)"
        )
    think = session_think_max_s(values)
    if think > MAX_SESSION_THINK_S:
        raise ValueError(
            f"{name}: a session may think for {think:,.0f} s between its turns; a trace session "
            f"may think for at most {MAX_SESSION_THINK_S:,.0f} s (lower turns_max or think_max_s)"
        )


def session_requests_max(values: Mapping[str, float]) -> int:
    """The most requests one session of these parameters can make: every turn, and where
    sub-agents may spawn, the most of the longest after every turn but the last."""
    turns = int(values["turns_max"])
    return turns + (turns - 1) * _subagent_requests_max(values)


def _subagent_requests_max(values: Mapping[str, float]) -> int:
    if values.get("subagent_p", 0) == 0:
        return 0
    return int(values["subagents_max"]) * int(values["subagent_turns_max"])


def requests_per_session_mean(values: Mapping[str, float]) -> float:
    """The requests one session makes on average: the lognormal's mean capped at
    ``turns_max`` (coding) or the uniform's middle, plus the sub-agents' expected turns."""
    if "turns_median" not in values:
        return (values["turns_min"] + values["turns_max"]) / 2
    turns = min(
        values["turns_median"] * math.exp(values["turns_sigma"] ** 2 / 2), values["turns_max"]
    )
    children = (values["subagents_min"] + values["subagents_max"]) / 2
    child_turns = min(
        values["subagent_turns_median"] * math.exp(SUBAGENT_TURNS_SIGMA**2 / 2),
        values["subagent_turns_max"],
    )
    return turns + max(0.0, turns - 1) * values["subagent_p"] * children * child_turns


def trace_requests_max(sessions: int, values: Mapping[str, float]) -> str | None:
    """Why ``sessions`` sessions of these parameters may pass the trace's request cap, or
    None when they cannot."""
    most = sessions * session_requests_max(values)
    if most <= MAX_TRACE_REQUESTS:
        return None
    return (
        f"{sessions:,} sessions of up to {session_requests_max(values):,} requests each may "
        f"make {most:,}; a trace may make at most {MAX_TRACE_REQUESTS:,} (fewer sessions, or "
        "lower turns_max, subagents_max or subagent_turns_max)"
    )


def in_flight_per_user(values: Mapping[str, float]) -> int:
    """Requests one user can have in flight: its own, plus its sub-agents' in parallel."""
    return 1 + (int(values["subagents_max"]) if values.get("subagent_p", 0) > 0 else 0)


def session_think_max_s(values: Mapping[str, float]) -> float:
    """The longest a session's own turns can wait in all (unscaled): ``think_max_s`` after
    every turn but the last (sub-agents think in parallel with each other)."""
    return (values["turns_max"] - 1) * values["think_max_s"]


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
