"""What a trace implies for a prefix cache: cached prompt tokens per request and the hit rate.

The model (docs/traces.md, "Implied hit rate"), kept simple so a test can compute it by hand:

- Requests are served one at a time in trace order: each session to its end, a turn's
  sub-agents (each to its end, in order) right after that turn's answer. Under concurrent load
  two sessions may both miss a prefix only one of them misses here, so a measured hit rate
  can be lower, never higher with an unbounded cache.
- A request's prompt is the session's token stream so far: its system blocks, then per turn
  that turn's blocks (``block_size`` tokens each) and its unique input, then the turn's answer
  before the next turn. A sub-agent's stream starts as its parent's, up to and including the
  answer of the turn that spawned it, followed by the sub-agent's own system blocks and turns.
- The cache holds blocks of ``cache_block_size`` tokens (by default the trace's block size),
  each keyed by its content *and everything before it* (as vLLM hashes blocks), so a block
  matches only with its whole prefix (keys are 64-bit hashes of (previous key, content): a
  collision among a few million blocks has odds near 10⁻⁷). Unique text (a turn's input, an
  answer) belongs to one session and turn and never matches another's.
- A request's cached tokens are its longest run of leading full blocks found in the cache,
  capped so that at least one prompt token is computed (a fully cached prompt recomputes its
  last block). After the request its prompt's full blocks are stored; with history
  ``engine`` the answer's full blocks too (the engine keeps what it generated, and the next
  turn re-sends exactly that), with history ``trace`` not (the next turn re-sends synthesised
  text of the answer's length, which the engine never produced).
- ``cache_blocks`` bounds the cache: least recently used blocks go first; a lookup touches
  the blocks it found, storing touches every block of the prompt in order.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

from arena.common.traces.format import Session, Trace

History = Literal["engine", "trace"]
Piece = tuple[object, int, int]
"""A span of one segment inside a cache block: (segment identity, start, end)."""


@dataclass(frozen=True)
class ImpliedRequest:
    session: str
    """As samples label it: ``s12``, a sub-agent ``s12.1`` (1-based, in spawn order)."""
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
    lookups and stores start there, so a long session costs its new blocks only."""

    def fork(self) -> "_Stream":
        return _Stream(self.size, list(self.keys), list(self.pending), self.tokens, self.stored)

    def append(self, identity: object, length: int) -> None:
        start = 0
        while start < length:
            filled = self.tokens % self.size
            take = min(self.size - filled, length - start)
            self.pending.append((identity, start, start + take))
            start += take
            self.tokens += take
            if self.tokens % self.size == 0:
                parent = self.keys[-1] if self.keys else -1
                self.keys.append(hash((parent, tuple(self.pending))))
                self.pending = []


class _Cache:
    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.blocks: OrderedDict[int, None] = OrderedDict()

    def lookup(self, stream: _Stream) -> int:
        """Leading blocks of ``stream`` found (those of an LRU cache touched)."""
        found = stream.stored if self.capacity is None else 0
        for key in stream.keys[found:]:
            if key not in self.blocks:
                break
            self.blocks.move_to_end(key)
            found += 1
        return found

    def store(self, stream: _Stream) -> None:
        """Every full block of ``stream``, in order (an LRU cache evicts as it goes)."""
        for key in stream.keys[stream.stored if self.capacity is None else 0 :]:
            self.blocks[key] = None
            self.blocks.move_to_end(key)
        while self.capacity is not None and len(self.blocks) > self.capacity:
            self.blocks.popitem(last=False)
        if self.capacity is None:
            stream.stored = len(stream.keys)


def implied_cache(
    trace: Trace,
    history: History = "engine",
    cache_blocks: int | None = None,
    cache_block_size: int | None = None,
    lead_tokens: int = 0,
) -> Implied:
    """Every request of ``trace`` with its prompt and cached tokens, under the model above;
    ``cache_blocks`` None: an unbounded cache. ``lead_tokens``: tokens every top-level
    session's prompt starts with before its system blocks, the same in all (the load
    generator's salt line): they shift where blocks fall, as they do in the engine."""
    if cache_blocks is not None and cache_blocks < 1:
        raise ValueError(f"cache_blocks must be at least 1, got {cache_blocks}")
    size = cache_block_size or trace.header.block_size
    if size < 1:
        raise ValueError(f"cache_block_size must be at least 1, got {size}")
    if lead_tokens < 0:
        raise ValueError(f"lead_tokens must be 0 or more, got {lead_tokens}")
    walk = _Walk(trace.header.block_size, size, history, _Cache(cache_blocks))
    for session in trace.sessions:
        stream = _Stream(size)
        stream.append(("lead",), lead_tokens)
        walk.session(session, session.id, stream)
    return Implied(walk.requests)


@dataclass
class _Walk:
    block_size: int
    cache_size: int
    history: History
    cache: _Cache
    requests: list[ImpliedRequest] = field(default_factory=list)

    def session(self, session: Session, label: str, stream: _Stream) -> None:
        for block in session.system_blocks:
            stream.append(("block", block), self.block_size)
        spawned = 0
        for index, turn in enumerate(session.turns):
            for block in turn.blocks:
                stream.append(("block", block), self.block_size)
            stream.append(("input", label, index), turn.input_tokens)
            self.request(
                label, index, stream, turn.output_tokens, turn.input_tokens, len(turn.blocks)
            )
            stream.append(("answer", label, index), turn.output_tokens)
            if self.history == "engine":
                self.cache.store(stream)
            for child in turn.subagents:
                spawned += 1
                self.session(child, f"{label}.{spawned}", stream.fork())

    def request(
        self, label: str, turn: int, stream: _Stream, output: int, unique: int, blocks: int
    ) -> None:
        prompt = stream.tokens
        found = self.cache.lookup(stream)
        cacheable = max(prompt - 1, 0) // self.cache_size * self.cache_size  # one token computed
        cached = min(found * self.cache_size, cacheable)
        self.cache.store(stream)
        self.requests.append(
            ImpliedRequest(
                session=label,
                turn=turn,
                prompt_tokens=prompt,
                cached_tokens=cached,
                new_tokens=blocks * self.block_size + unique,
                output_tokens=output,
            )
        )
