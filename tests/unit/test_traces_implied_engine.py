"""The implied hit rate is the simulated engine's, request by request: the same conversations
replayed through the engine's own ``PrefixCache``, as its batch and chat route drive it.

The replay below builds the token ids the load generator's conversation gives on the
simulated engine (session.py: salt line, system blocks; per turn its blocks, the session
marker on turn 0, its input, "." for an empty message; the answer), one request at a time:
at admission the cached tokens are looked up and the prompt's blocks inserted; at the end
prompt + answer less its last token is inserted (chat.py, batching.py). It is written
independently of ``implied.py``, on real token ids and the engine's own block hashes.
"""

import copy
import itertools
from collections.abc import Iterator

import pytest

from arena.agent.simulated.prefix_cache import BlockChain, PrefixCache
from arena.common.traces.format import Session, Trace, TraceHeader, Turn
from arena.common.traces.implied import History, implied_cache
from arena.common.traces.profiles import generate

SALT, EMPTY = 1, 2
UNBOUNDED = 10**9


class _Replay:
    def __init__(
        self, trace: Trace, history: History, cache_blocks: int, cache_block: int, marker: int = 1
    ):
        self.marker = marker
        """Tokens of a session marker (1 on the simulated engine; 0 checks the empty message)."""
        self.trace_block = trace.header.block_size
        self.history = history
        self.cache = PrefixCache(cache_blocks, cache_block)
        self.fresh = itertools.count(1000)
        self.block_ids: dict[int, list[int]] = {}
        self.requests: list[tuple[int, int]] = []
        """(prompt tokens, cached tokens) per request, in the order served."""

    def run(self, trace: Trace) -> list[tuple[int, int]]:
        for session in trace.sessions:
            prompt = self.cache.chain()
            prompt.extend([SALT] + self.blocks(session.system_blocks))
            self.session(session, prompt, subagent=False)
        return self.requests

    def block(self, block: int) -> list[int]:
        if block not in self.block_ids:
            self.block_ids[block] = self.unique(self.trace_block)
        return self.block_ids[block]

    def unique(self, count: int) -> list[int]:
        return list(itertools.islice(self.fresh, count))

    def blocks(self, blocks: list[int]) -> list[int]:
        return [token for block in blocks for token in self.block(block)]

    def session(self, session: Session, prompt: BlockChain, subagent: bool) -> None:
        for number, turn in enumerate(session.turns):
            message = self.blocks(session.system_blocks) if subagent and number == 0 else []
            message += self.blocks(turn.blocks)
            if number == 0:
                message += self.unique(self.marker)
            message += self.unique(turn.input_tokens)
            prompt.extend(message or [EMPTY])
            self.requests.append((prompt.token_count, self.cache.cached_tokens(prompt)))
            self.cache.insert(prompt.keys)
            output = self.unique(turn.output_tokens)
            produced = prompt if self.history == "engine" else copy.deepcopy(prompt)
            produced.extend(output[:-1])
            self.cache.insert(produced.keys)
            prompt.extend(output[-1:] if self.history == "engine" else self.unique(len(output)))
            for child in turn.subagents:
                self.session(child, copy.deepcopy(prompt), subagent=True)


def _implied(
    trace: Trace, history: History, cache_blocks: int, cache_block: int, marker: int = 1
) -> list[tuple[int, int]]:
    implied = implied_cache(
        trace,
        history,
        None if cache_blocks == UNBOUNDED else cache_blocks,
        cache_block,
        lead_tokens=1,
        marker_tokens=marker,
        empty_tokens=1,
    )
    return [(request.prompt_tokens, request.cached_tokens) for request in implied.requests]


def _traces() -> Iterator[tuple[str, Trace]]:
    yield "coding", generate("coding", 12, seed=3)
    yield "chat", generate("chat", 30, seed=4)
    yield "rag", generate("rag", 30, seed=5)


TRACES = dict(_traces())


@pytest.mark.parametrize("history", ["engine", "trace"])
@pytest.mark.parametrize("cache_blocks", [4, 16, 150, 400, UNBOUNDED])
@pytest.mark.parametrize("profile", sorted(TRACES))
def test_implied_equals_the_simulated_engines_cache_request_by_request(
    profile: str, cache_blocks: int, history: History
) -> None:
    trace = TRACES[profile]
    block = trace.header.block_size
    expected = _Replay(trace, history, cache_blocks, block).run(trace)
    assert _implied(trace, history, cache_blocks, block) == expected
    assert sum(cached for _, cached in expected) > 0


@pytest.mark.parametrize("cache_blocks", [16, 150, UNBOUNDED])
def test_a_finer_engine_block_gives_the_same_tokens_as_the_engine(cache_blocks: int) -> None:
    trace = TRACES["rag"]
    expected = _Replay(trace, "engine", cache_blocks, 16).run(trace)
    assert _implied(trace, "engine", cache_blocks, 16) == expected


def test_edge_cases_equal_the_engine_too() -> None:
    """Empty messages (a later turn; without a marker, a first one, but not a sub-agent's
    whose system blocks are in it), an answer that ends on a block boundary, sub-agents of
    sub-agents, and caches smaller than one conversation."""
    grandchild = Session(id="g", turns=[Turn(input_tokens=3, output_tokens=2)])
    child = Session(
        id="c",
        system_blocks=[9],
        turns=[
            Turn(input_tokens=0, output_tokens=3, subagents=[grandchild]),
            Turn(input_tokens=2, output_tokens=1),
        ],
    )
    trace = Trace(
        header=TraceHeader(block_size=4),
        sessions=[
            Session(
                id=name,
                system_blocks=[1, 2],
                turns=[
                    Turn(input_tokens=first_input, output_tokens=5),
                    Turn(input_tokens=0, output_tokens=1),
                    Turn(input_tokens=2, blocks=[3], output_tokens=4, subagents=[child, child]),
                    Turn(input_tokens=7, output_tokens=2),
                ],
            )
            for name, first_input in (("a", 1), ("b", 0))
        ],
    )
    histories: tuple[History, ...] = ("engine", "trace")
    for history, marker in itertools.product(histories, (0, 1, 2)):
        for cache_blocks, cache_block in itertools.product((1, 2, 3, 5, 8, UNBOUNDED), (2, 3, 4)):
            expected = _Replay(trace, history, cache_blocks, cache_block, marker).run(trace)
            got = _implied(trace, history, cache_blocks, cache_block, marker)
            assert got == expected, (history, marker, cache_blocks, cache_block)
