"""Arena's session trace, version 1: JSON Lines, a header line, then one session per line.

Prompts are never stored: a trace holds lengths and *block ids*. The generator synthesises a
block's text from its id (and the run's salt), so equal ids give equal tokens, hence real
prefix-cache hits, while a turn's ``input_tokens`` are text unique to that session and turn.
A session's conversation is

    system: text of ``system_blocks``
    user:   text of turn 0's ``blocks``, then its ``input_tokens`` of unique text
    assistant: the answer (as the engine produced it, or ``output_tokens`` of synthesised text)
    user:   turn 1 ...

and each request re-sends the whole conversation so far. Sub-agents spawned by a turn start
from the parent's conversation up to and including that turn's answer, run in parallel, and
the parent waits for all of them before its think time. docs/traces.md is the reference.
"""

from typing import Annotated, Literal

from pydantic import Field

from arena.common.schemas.base import ArenaModel

TRACE_FORMAT = "arena-sessions"
TRACE_VERSION = 1
MAX_TURNS = 1000
MAX_SUBAGENTS = 32
MAX_SUBAGENT_DEPTH = 2
MAX_TURN_TOKENS = 1_000_000
MAX_BLOCKS = 16_384
MAX_OUTPUT_TOKENS = 131_072
"""The longest answer one turn may ask for (its ``max_tokens``)."""
MAX_SESSIONS = 100_000
"""Sessions of one trace, read or generated (a suite's ``trace.sessions`` at most)."""
MAX_SESSION_REQUESTS = 50_000
"""Turns of one session, its sub-agents' turns included."""
MAX_TRACE_REQUESTS = 2_000_000
"""Turns of the whole trace, sub-agents included."""
MAX_ARRIVAL_S = 86_400.0
"""The latest a session may start in a trace: a replay never holds a box longer than a day
(the controller sees no trace file, so the agent's reader is where this is enforced)."""
MAX_SESSION_THINK_S = 86_400.0
"""Think time of one session's own turns together (its sub-agents wait in parallel)."""

SessionId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
"""No dots: a sub-agent's samples are labelled ``parent.k``."""
BlockId = Annotated[int, Field(ge=0, lt=2**63)]


class TraceHeader(ArenaModel):
    """The first line of an Arena trace file."""

    format: Literal["arena-sessions"] = "arena-sessions"
    version: Literal[1] = 1
    block_size: Annotated[int, Field(gt=0, le=4096)] = 64
    """Tokens per block id."""
    profile: str = ""
    """The generator profile that made it, or empty for a trace from elsewhere."""
    seed: int | None = None
    params: dict[str, float] = {}
    """The generator's parameters, as used (defaults filled in)."""
    description: str = ""


class Turn(ArenaModel):
    input_tokens: Annotated[int, Field(ge=0, le=MAX_TURN_TOKENS)]
    """New tokens of this turn's user (or tool-result) message, unique to session and turn."""
    blocks: list[BlockId] = Field(default=[], max_length=MAX_BLOCKS)
    """Shared blocks placed before the new input (a file every agent reads, a retrieved
    document), ``block_size`` tokens each."""
    output_tokens: Annotated[int, Field(ge=1, le=MAX_OUTPUT_TOKENS)]
    """The answer's length: ``max_tokens``, with end-of-sequence ignored."""
    think_s: Annotated[float, Field(ge=0, le=3600)] = 0.0
    """Wait after the answer (and any sub-agents) before the next turn: tool or user time."""
    subagents: list["Session"] = Field(default=[], max_length=MAX_SUBAGENTS)
    """Sessions spawned after this turn's answer, sharing its conversation as their prefix."""


class Session(ArenaModel):
    id: SessionId
    arrival_s: Annotated[float, Field(ge=0, le=MAX_ARRIVAL_S)] | None = None
    """When the session starts, relative to the trace's start (replayed with
    ``replay_timestamps``); ``None``: the benchmark's load decides."""
    system_blocks: list[BlockId] = Field(default=[], max_length=MAX_BLOCKS)
    """The shared prefix: system prompt, tool definitions, a corpus."""
    turns: list[Turn] = Field(min_length=1, max_length=MAX_TURNS)


class Trace(ArenaModel):
    """A whole trace in memory: its header and sessions in file order."""

    header: TraceHeader
    sessions: list[Session]
