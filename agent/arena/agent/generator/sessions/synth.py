"""Prompt text for session traces: a trace holds lengths and block ids, never text.

A block id always gives the same ``block_size`` tokens of text, so blocks shared between
sessions (a system prompt, a file every agent reads) are real prefix-cache hits; a turn's own
input (and, with ``history: trace``, its answer) is text drawn for that session path and turn.
Each text is a slice of the corpus token pool (``corpus.py``) at an offset drawn by an RNG
seeded from (benchmark seed, what it is, block id or session path and turn), decoded by the
engine's tokenizer: slices of real prose re-tokenise close to their length, where tokens drawn
one by one would not.

Lazily, and bounded: a text is decoded when a session about to start needs it (``prefetch``,
driven by the load's ``Lookahead`` some sessions ahead of their start) and kept in an LRU of
``TEXT_CACHE_CHARS`` characters, so a trace of any size costs the sessions in use, not the
whole trace (10 k coding sessions decoded up front held 1.1 GB). A text asked for while it is
being decoded waits for that one decode; one that was never prefetched, or evicted, is decoded
when asked for.

Text does not depend on the run or the load step. What keeps a step from reusing an earlier
step's cache is the *salt line* that opens every conversation's system message (one per run
and step); what keeps sessions apart after their shared blocks is the *session marker* that
opens each session's first own input (its label, ``[s12]``). A prefix cache matches from the
first token, so everything after a differing token is a miss, on every engine whose cache is
a prefix cache (vLLM, SGLang, llama.cpp without ``--cache-reuse``, the simulated engine).

Token counts are not refitted: a slice's text can re-tokenise a token or two longer or
shorter, blocks and parts of a message are joined by a newline (often a token of its own),
and the salt line and marker add a few tokens. The engine's ``usage.prompt_tokens`` is what
each sample records. The simulated engine's word tokenizer is exact: its salt line and
marker are one token each.
"""

import asyncio
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial

import numpy as np
import structlog

from arena.agent.generator.tokens import Tokenizer
from arena.common.traces.format import Session

log = structlog.get_logger(__name__)

DECODE_WINDOW = 32
"""Texts decoded at once while warming: enough to overlap round trips, few enough to be polite."""
TEXT_CACHE_CHARS = 128 * 2**20
"""Characters of decoded text kept (about 128 MiB): far more than the sessions a step has in
flight and prefetched need (a coding session's texts are ~100 k characters), bounded whatever
the trace's size. Blocks shared by many sessions stay because they are used often."""
_BLOCK, _INPUT, _ANSWER = 0, 1, 2


def salt_line(salt: str) -> str:
    return f"[{salt}]"


def session_marker(label: str) -> str:
    return f"[{label}]"


def join_parts(parts: Iterable[str]) -> str:
    return "\n".join(part for part in parts if part)


_Key = tuple[int, int, int]


class Synthesiser:
    """Texts of blocks and of session turns, decoded when first needed and cached (LRU)."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        pool: Sequence[int],
        seed: int,
        block_size: int,
        *,
        answers: bool = False,
        cache_chars: int = TEXT_CACHE_CHARS,
    ):
        if not pool:
            raise ValueError("the corpus token pool is empty")
        self._tokenizer = tokenizer
        self._pool = pool
        self._seed = seed
        self.block_size = block_size
        self.answers = answers
        """Whether sessions re-send synthesised answers (``history: trace``): prefetch them."""
        self._cache_chars = cache_chars
        self._texts: OrderedDict[_Key, str] = OrderedDict()
        self._chars = 0
        self._decoding: dict[_Key, asyncio.Task[str]] = {}
        self._prefetching: set[asyncio.Task[None]] = set()

    async def blocks(self, ids: Sequence[int]) -> str:
        return join_parts([await self._text(_BLOCK, block, 0, self.block_size) for block in ids])

    async def user_input(self, path: str, turn: int, tokens: int) -> str:
        """A turn's own new input: text unique to the trace session ``path`` and ``turn``."""
        return await self._text(_INPUT, _path_key(path), turn, tokens)

    async def answer(self, path: str, turn: int, tokens: int) -> str:
        """The trace's answer of ``tokens`` tokens, re-sent as history with ``history: trace``."""
        return await self._text(_ANSWER, _path_key(path), turn, tokens)

    async def warm(self, sessions: Iterable[tuple[Session, str]]) -> None:
        """Decode every text of these (session, path)s, ``DECODE_WINDOW`` texts at a time."""
        pending = [job for session, path in sessions for job in self._jobs(session, path)]
        for start in range(0, len(pending), DECODE_WINDOW):
            await asyncio.gather(*(job() for job in pending[start : start + DECODE_WINDOW]))

    def prefetch(self, session: Session, path: str) -> None:
        """``warm`` in the background: the session starts later, its texts should be ready."""
        task = asyncio.ensure_future(self._prefetch(session, path))
        self._prefetching.add(task)
        task.add_done_callback(self._prefetching.discard)

    async def close(self) -> None:
        """Stop every decode still running (the benchmark is over)."""
        tasks = [*self._prefetching, *self._decoding.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _prefetch(self, session: Session, path: str) -> None:
        try:
            await self.warm([(session, path)])
        except Exception as exc:  # the turn asks again, and fails there with the cause
            log.warning("prefetching session texts failed", path=path, error=str(exc))

    def _jobs(self, session: Session, path: str) -> list[Callable[[], Awaitable[str]]]:
        """Every text a session (and its sub-agents) will send."""
        jobs: list[Callable[[], Awaitable[str]]] = [partial(self.blocks, session.system_blocks)]
        children = 0
        for number, turn in enumerate(session.turns):
            jobs.append(partial(self.blocks, turn.blocks))
            jobs.append(partial(self.user_input, path, number, turn.input_tokens))
            if self.answers:
                jobs.append(partial(self.answer, path, number, turn.output_tokens))
            for child in turn.subagents:
                children += 1
                jobs += self._jobs(child, f"{path}.{children}")
        return jobs

    async def _text(self, kind: int, key: int, turn: int, tokens: int) -> str:
        if tokens <= 0:
            return ""
        cache_key = (kind, key, turn)
        text = self._texts.get(cache_key)
        if text is not None:
            self._texts.move_to_end(cache_key)
            return text
        decoding = self._decoding.get(cache_key)
        if decoding is None:
            decoding = asyncio.ensure_future(self._decode(cache_key, tokens))
            self._decoding[cache_key] = decoding
        # shielded: a prefetch cancelled at the end of a step leaves a turn waiting on it whole
        return await asyncio.shield(decoding)

    async def _decode(self, cache_key: _Key, tokens: int) -> str:
        try:
            rng = np.random.default_rng([self._seed, *cache_key])
            start = int(rng.integers(0, len(self._pool)))
            ids = [self._pool[(start + i) % len(self._pool)] for i in range(tokens)]
            text = await self._tokenizer.decode(ids)
        finally:
            del self._decoding[cache_key]
        self._texts[cache_key] = text
        self._chars += len(text)
        while self._chars > self._cache_chars and len(self._texts) > 1:
            _, evicted = self._texts.popitem(last=False)
            self._chars -= len(evicted)
        return text


def _path_key(path: str) -> int:
    return zlib.crc32(path.encode())
