"""Prompt text for session traces: a trace holds lengths and block ids, never text.

A block id always gives the same ``block_size`` tokens of text, so blocks shared between
sessions (a system prompt, a file every agent reads) are real prefix-cache hits; a turn's own
input (and, with ``history: trace``, its answer) is text drawn for that session path and turn.
Each text is a slice of the corpus token pool (``corpus.py``) at an offset drawn by an RNG
seeded from (benchmark seed, what it is, block id or session path and turn), decoded once by
the engine's tokenizer and kept for the whole benchmark: slices of real prose re-tokenise
close to their length, where tokens drawn one by one would not.

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
from collections.abc import Awaitable, Callable, Iterable, Sequence

import numpy as np

from arena.agent.generator.tokens import Tokenizer

DECODE_WINDOW = 32
"""Texts decoded at once while warming: enough to overlap round trips, few enough to be polite."""
_BLOCK, _INPUT, _ANSWER = 0, 1, 2


def salt_line(salt: str) -> str:
    return f"[{salt}]"


def session_marker(label: str) -> str:
    return f"[{label}]"


def join_parts(parts: Iterable[str]) -> str:
    return "\n".join(part for part in parts if part)


class Synthesiser:
    """Texts of blocks and of session turns, each decoded once and cached."""

    def __init__(self, tokenizer: Tokenizer, pool: Sequence[int], seed: int, block_size: int):
        if not pool:
            raise ValueError("the corpus token pool is empty")
        self._tokenizer = tokenizer
        self._pool = pool
        self._seed = seed
        self.block_size = block_size
        self._texts: dict[tuple[int, int, int], str] = {}

    async def blocks(self, ids: Sequence[int]) -> str:
        return join_parts([await self._text(_BLOCK, block, 0, self.block_size) for block in ids])

    async def user_input(self, path: str, turn: int, tokens: int) -> str:
        """A turn's own new input: text unique to the trace session ``path`` and ``turn``."""
        return await self._text(_INPUT, _path_key(path), turn, tokens)

    async def answer(self, path: str, turn: int, tokens: int) -> str:
        """The trace's answer of ``tokens`` tokens, re-sent as history with ``history: trace``."""
        return await self._text(_ANSWER, _path_key(path), turn, tokens)

    async def warm(self, jobs: Iterable[Callable[[], Awaitable[str]]]) -> None:
        """Decode ahead (before a measured step), ``DECODE_WINDOW`` texts at a time."""
        pending = list(jobs)
        for start in range(0, len(pending), DECODE_WINDOW):
            await asyncio.gather(*(job() for job in pending[start : start + DECODE_WINDOW]))

    async def _text(self, kind: int, key: int, turn: int, tokens: int) -> str:
        if tokens <= 0:
            return ""
        cache_key = (kind, key, turn)
        text = self._texts.get(cache_key)
        if text is None:
            rng = np.random.default_rng([self._seed, kind, key, turn])
            start = int(rng.integers(0, len(self._pool)))
            ids = [self._pool[(start + i) % len(self._pool)] for i in range(tokens)]
            text = await self._tokenizer.decode(ids)
            self._texts[cache_key] = text
        return text


def _path_key(path: str) -> int:
    return zlib.crc32(path.encode())
