"""What a trace implies for a prefix cache: cached prompt tokens per request and the hit rate.

The model (docs/traces.md, "Implied hit rate") is the simulated engine's prefix cache
(``arena.agent.simulated.prefix_cache``, as the batch and the chat route drive it, in the
manner of vLLM) fed the conversations the load generator builds, so that a test can predict
every cached token:

- Requests are served one at a time in trace order: each session to its end, a turn's
  sub-agents (each to its end, in order) right after that turn's answer.
- A request's prompt is the session's token stream so far: ``lead_tokens`` (the generator's
  salt line, the same in every top-level session), its system blocks, then per turn that
  turn's blocks (``block_size`` tokens each), on turn 0 ``marker_tokens`` (the session
  marker, unique to the session), the turn's unique input, and a user message left with no
  tokens at all counts ``empty_tokens`` (the generator sends "."); then the turn's answer
  before the next turn. A sub-agent's stream starts as its parent's, up to and including the
  answer of the turn that spawned it, then the sub-agent's own system blocks and turns.
- The cache holds blocks of ``cache_block_size`` tokens (by default the trace's block size),
  each keyed by its content *and everything before it*, so a block matches only with its
  whole prefix (keys are 64-bit hashes of (previous key, content): a collision among a few
  million blocks has odds near 10⁻⁷). Unique text (a marker, an input, an answer) belongs to
  one session and turn and never matches another's.
- On admission a request's cached tokens are its leading full blocks found in the cache,
  among the full blocks of its first ``prompt − 1`` tokens (one token is always computed),
  and then its prompt's full blocks are inserted. When the answer is complete the full
  blocks of prompt + answer less its last token (which has no KV yet) are inserted. With
  history ``engine`` the next turn re-sends that answer, so it hits them; with history
  ``trace`` it re-sends synthesised text the engine never produced, which matches nothing
  after the prompt, though the engine's answer still took its room in the cache.
- ``cache_blocks`` bounds the cache (LRU). Inserting walks the blocks from last to first,
  each found one marked used, each new one added and the least recently used block dropped
  while the cache is over its bound: a chain loses its tail first and keeps its (shared) head.
  A lookup marks nothing.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

from arena.common.traces.format import Session, Trace, Turn

History = Literal["engine", "trace"]
Piece = tuple[object, int, int]
"""A span of one segment inside a cache block: (segment identity, start, end)."""


@dataclass(frozen=True)
class ImpliedRequest:
    session: str
    """The trace's session id; a sub-agent ``s12.1`` (1-based, in spawn order)."""
    turn: int
    prompt_tokens: int
    cached_tokens: int
    new_tokens: int
    """This turn's blocks and unique input: what the user or tool added."""
    output_tokens: int


@dataclass(frozen=True)
class Implied:
    requests: list[ImpliedRequest]

    @property
    def prompt_tokens(self) -> int:
        return sum(request.prompt_tokens for request in self.requests)

    @property
    def cached_tokens(self) -> int:
        return sum(request.cached_tokens for request in self.requests)

    @property
    def hit_pct(self) -> float:
        """Cached prompt tokens as a share of all prompt tokens, in %."""
        prompt = self.prompt_tokens
        return 100.0 * self.cached_tokens / prompt if prompt else 0.0


@dataclass
class _Stream:
    """A conversation's tokens as chained block keys, extended as the session goes on."""

    size: int
    keys: list[int] = field(default_factory=list)
    pending: list[Piece] = field(default_factory=list)
    tokens: int = 0
    stored: int = 0
    """Leading keys an unbounded cache is known to hold (nothing is ever evicted from it):
    lookups and inserts start there, so a long session costs its new blocks only."""

    def fork(self) -> "_Stream":
        return _Stream(self.size, list(self.keys), list(self.pending), self.tokens, self.stored)

    def append(self, identity: object, length: int, offset: int = 0) -> None:
        """Tokens ``offset`` to ``offset + length`` of the segment ``identity``. A segment
        appended in parts gives the same keys as appended at once."""
        start, end = offset, offset + length
        while start < end:
            filled = self.tokens % self.size
            take = min(self.size - filled, end - start)
            last = self.pending[-1] if self.pending else None
            if last is not None and last[0] == identity and last[2] == start:
                self.pending[-1] = (identity, last[1], start + take)
            else:
                self.pending.append((identity, start, start + take))
            start += take
            self.tokens += take
            if self.tokens % self.size == 0:
                parent = self.keys[-1] if self.keys else -1
                self.keys.append(hash((parent, tuple(self.pending))))
                self.pending = []


class _Cache:
    """The simulated engine's ``PrefixCache`` over this module's keys."""

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.blocks: OrderedDict[int, None] = OrderedDict()

    def cached_blocks(self, stream: _Stream) -> int:
        """Leading blocks of the prompt ``stream`` found, the last token left to compute."""
        lookable = max(stream.tokens - 1, 0) // stream.size
        found = min(stream.stored, lookable) if self.capacity is None else 0
        for key in stream.keys[found:lookable]:
            if key not in self.blocks:
                break
            found += 1
        return found

    def insert(self, stream: _Stream) -> None:
        """Every full block of ``stream``, walked from the last to the first."""
        blocks = self.blocks
        if self.capacity is None:
            blocks.update(dict.fromkeys(stream.keys[stream.stored :]))
            stream.stored = len(stream.keys)
            return
        for key in reversed(stream.keys):
            if key in blocks:
                blocks.move_to_end(key)
            else:
                blocks[key] = None
                if len(blocks) > self.capacity:
                    blocks.popitem(last=False)


def implied_cache(
    trace: Trace,
    history: History = "engine",
    cache_blocks: int | None = None,
    cache_block_size: int | None = None,
    lead_tokens: int = 0,
    marker_tokens: int = 0,
    empty_tokens: int = 0,
) -> Implied:
    """Every request of ``trace`` with its prompt and cached tokens, under the model above;
    ``cache_blocks`` None: an unbounded cache. ``lead_tokens``, ``marker_tokens`` and
    ``empty_tokens``: what the load generator adds to the trace's tokens (its salt line,
    session marker and empty-message stand-in, as the engine's tokenizer counts them; 1 each
    on the simulated engine); they shift where blocks fall, as they do in the engine."""
    if cache_blocks is not None and cache_blocks < 1:
        raise ValueError(f"cache_blocks must be at least 1, got {cache_blocks}")
    size = cache_block_size or trace.header.block_size
    if size < 1:
        raise ValueError(f"cache_block_size must be at least 1, got {size}")
    for name, value in (
        ("lead_tokens", lead_tokens),
        ("marker_tokens", marker_tokens),
        ("empty_tokens", empty_tokens),
    ):
        if value < 0:
            raise ValueError(f"{name} must be 0 or more, got {value}")
    walk = _Walk(
        trace.header.block_size, history, _Cache(cache_blocks), marker_tokens, empty_tokens
    )
    for session in trace.sessions:
        stream = _Stream(size)
        stream.append(("lead",), lead_tokens)
        walk.session(session, session.id, stream)
    return Implied(walk.requests)


@dataclass
class _Walk:
    block_size: int
    history: History
    cache: _Cache
    marker_tokens: int
    empty_tokens: int
    requests: list[ImpliedRequest] = field(default_factory=list)
    sessions: int = 0
    """Sessions started: the identity of each one's unique text, whatever the trace's ids."""

    def session(
        self, session: Session, label: str, stream: _Stream, subagent: bool = False
    ) -> None:
        number = self.sessions
        self.sessions += 1
        opened = stream.tokens  # a sub-agent's system blocks open its first user message
        for block in session.system_blocks:
            stream.append(("block", block), self.block_size)
        spawned = 0
        for index, turn in enumerate(session.turns):
            before = opened if index == 0 and subagent else stream.tokens
            for block in turn.blocks:
                stream.append(("block", block), self.block_size)
            if index == 0:
                stream.append(("marker", number), self.marker_tokens)
            stream.append(("input", number, index), turn.input_tokens)
            if stream.tokens == before:
                stream.append(("empty",), self.empty_tokens)
            self.request(label, index, stream, turn)
            self.answer(stream, number, index, turn.output_tokens)
            for child in turn.subagents:
                spawned += 1
                self.session(child, f"{label}.{spawned}", stream.fork(), subagent=True)

    def request(self, label: str, index: int, stream: _Stream, turn: Turn) -> None:
        """Admission: look the prompt up, then insert its blocks."""
        cached = self.cache.cached_blocks(stream) * stream.size
        self.cache.insert(stream)
        self.requests.append(
            ImpliedRequest(
                session=label,
                turn=index,
                prompt_tokens=stream.tokens,
                cached_tokens=cached,
                new_tokens=len(turn.blocks) * self.block_size + turn.input_tokens,
                output_tokens=turn.output_tokens,
            )
        )

    def answer(self, stream: _Stream, number: int, index: int, tokens: int) -> None:
        """The answer is complete: insert prompt + answer less its last token, then extend
        ``stream`` by what the next turn re-sends."""
        output = ("output", number, index)
        if self.history == "engine":
            stream.append(output, tokens - 1)
            self.cache.insert(stream)
            stream.append(output, 1, offset=tokens - 1)
            return
        if self.cache.capacity is not None:  # they never match: only their room counts
            produced = stream.fork()
            produced.append(output, tokens - 1)
            self.cache.insert(produced)
        stream.append(("answer", number, index), tokens)
