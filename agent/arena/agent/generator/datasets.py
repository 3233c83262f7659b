"""Prompts for both loops, built from the corpus through the engine's tokenizer.

(a) vLLM's random dataset, (b) vLLM's ShareGPT V3 loader and (c) llama-benchy's closed-loop
prompts, each with the reference tool's rules; the differences forced by having no local
tokenizer (a token pool sliced from the corpus instead of the vocabulary, no special tokens
added when counting) are noted where they apply.
"""

import asyncio
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from arena.agent.generator.client import ChatRequest
from arena.agent.generator.tokens import Tokenizer
from arena.common.suites.variants import (
    SHAREGPT_MAX_PROMPT,
    SHAREGPT_MAX_TOTAL,
    SHAREGPT_MIN_LEN,
    length_bounds,
)

log = structlog.get_logger(__name__)

MAX_FIT_RETRIES = 10
TOKENIZE_WINDOW = 32


@dataclass(frozen=True)
class Prompt:
    messages: list[dict[str, str]]
    prompt_len: int
    """Tokens of the message text (the chat template adds more on the server)."""
    max_tokens: int
    ignore_eos: bool

    def request(self) -> ChatRequest:
        return ChatRequest(self.messages, self.max_tokens, self.ignore_eos)


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _wrapped_slice(pool: Sequence[int], start: int, length: int) -> list[int]:
    return [pool[(start + i) % len(pool)] for i in range(length)]


async def fit_to_length(
    tokenizer: Tokenizer,
    ids: list[int],
    target: int,
    rng: np.random.Generator,
    pool: Sequence[int],
) -> tuple[str, int]:
    """Decode, re-encode, pad or truncate until the text is ``target`` tokens (≤ 10 retries).

    Consecutive tokens can decode to text that re-tokenises differently; vLLM's loop, with
    padding drawn from the corpus pool instead of the vocabulary. Returns text and its length.
    """
    retries = MAX_FIT_RETRIES
    while True:
        text = await tokenizer.decode(ids)
        ids = await tokenizer.encode(text)
        if retries <= 0 or len(ids) == target:
            return text, len(ids)
        if len(ids) < target:
            ids += [pool[int(j)] for j in rng.integers(0, len(pool), size=target - len(ids))]
        else:
            ids = ids[:target]
        retries -= 1


async def random_dataset(
    tokenizer: Tokenizer,
    pool: Sequence[int],
    *,
    num_prompts: int,
    input_len: int,
    output_len: int,
    range_ratio: float = 0.0,
    prefix_len: int = 0,
    seed: int = 0,
    ignore_eos: bool = True,
) -> list[Prompt]:
    """vLLM's random dataset: the same length draws as ``vllm bench serve`` for the same seed.

    Draw order as vLLM: input lengths, output lengths, offsets, then the shared prefix, then
    padding during fitting. vLLM subtracts the tokenizer's special tokens from ``input_len``;
    the chat endpoint adds none to message text, so nothing is subtracted here.
    """
    rng = np.random.default_rng(seed)
    in_low, in_high = length_bounds(input_len, range_ratio)
    out_low, out_high = length_bounds(output_len, range_ratio, minimum=1)
    input_lens = rng.integers(in_low, in_high + 1, size=num_prompts)
    output_lens = rng.integers(out_low, out_high + 1, size=num_prompts)
    offsets = rng.integers(0, len(pool), size=num_prompts)
    prefix = _wrapped_slice(pool, int(rng.integers(0, len(pool))), prefix_len) if prefix_len else []
    prompts: list[Prompt] = []
    mismatch = 0
    for index in range(num_prompts):
        inner = _wrapped_slice(pool, int(offsets[index]) + index, int(input_lens[index]))
        target = prefix_len + int(input_lens[index])
        text, length = await fit_to_length(tokenizer, prefix + inner, target, rng, pool)
        mismatch += length - target
        prompts.append(Prompt(_user(text), length, int(output_lens[index]), ignore_eos))
    if mismatch:
        log.warning("random prompts missed their token targets", total_mismatch=mismatch)
    return prompts


def _read_sharegpt(path: Path, seed: int) -> list[tuple[str, str]]:
    """Entries with ≥ 2 turns, shuffled with the seed exactly as vLLM (``random.seed``)."""
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    pairs = [
        (entry["conversations"][0]["value"], entry["conversations"][1]["value"])
        for entry in data
        if "conversations" in entry and len(entry["conversations"]) >= 2
    ]
    random.Random(seed).shuffle(pairs)
    return pairs


def sharegpt_keeps(prompt_len: int, output_len: int, fixed_output: bool) -> bool:
    """vLLM's filter: prompt ≥ 4 and ≤ 1024, output ≥ 4 (unless fixed), total ≤ 2048."""
    return not (
        prompt_len < SHAREGPT_MIN_LEN
        or (not fixed_output and output_len < SHAREGPT_MIN_LEN)
        or prompt_len > SHAREGPT_MAX_PROMPT
        or prompt_len + output_len > SHAREGPT_MAX_TOTAL
    )


async def sharegpt_dataset(
    tokenizer: Tokenizer,
    path: str | Path,
    *,
    num_prompts: int,
    seed: int = 0,
    output_len: int | None = None,
    ignore_eos: bool = False,
) -> list[Prompt]:
    """vLLM's ShareGPT sampling: shuffled first turns, filtered, oversampled when short.

    ``max_tokens`` is the reference completion's length unless ``output_len`` fixes it.
    vLLM counts with the tokenizer's special tokens (e.g. BOS); the engine's ``/tokenize`` is
    asked for none, so lengths can be one lower.
    """
    pairs = await asyncio.to_thread(_read_sharegpt, Path(path), seed)
    prompts: list[Prompt] = []
    for start in range(0, len(pairs), TOKENIZE_WINDOW):
        window = pairs[start : start + TOKENIZE_WINDOW]
        counts = await asyncio.gather(*(tokenizer.encode(text) for pair in window for text in pair))
        for position, (prompt_text, _) in enumerate(window):
            prompt_len = len(counts[2 * position])
            completion_len = len(counts[2 * position + 1]) if output_len is None else output_len
            if sharegpt_keeps(prompt_len, completion_len, output_len is not None):
                prompts.append(Prompt(_user(prompt_text), prompt_len, completion_len, ignore_eos))
            if len(prompts) >= num_prompts:
                return prompts
    if not prompts:
        raise ValueError(f"no usable ShareGPT conversations in {path}")
    extra = random.Random(seed).choices(prompts, k=num_prompts - len(prompts))
    log.info("oversampled ShareGPT prompts", found=len(prompts), wanted=num_prompts)
    return prompts + extra


class ClosedLoopPrompts:
    """llama-benchy's prompts: ``depth`` tokens of context, then ``pp`` tokens of prompt.

    llama-benchy slices a book at random offsets; here every prompt of a benchmark starts at a
    distinct corpus offset, so no two requests share a prefix and caches cannot help. With
    ``history_turns`` = 0 the context is one system message (llama-benchy); with N > 0 it is
    split over N user/assistant turns, a true multi-turn conversation.
    """

    def __init__(self, tokenizer: Tokenizer, pool: Sequence[int], seed: int) -> None:
        self._tokenizer = tokenizer
        self._pool = pool
        self._rng = np.random.default_rng(seed)
        self._used: set[int] = set()

    def _fresh_offset(self) -> int:
        for _ in range(1000):
            offset = int(self._rng.integers(0, len(self._pool)))
            if offset not in self._used:
                break
        self._used.add(offset)
        return offset

    async def messages(self, pp: int, depth: int, history_turns: int = 0) -> list[dict[str, str]]:
        ids = _wrapped_slice(self._pool, self._fresh_offset(), depth + pp)
        decode = self._tokenizer.decode
        prompt = {"role": "user", "content": await decode(ids[depth:])}
        if depth == 0:
            return [prompt]
        if history_turns == 0:
            return [{"role": "system", "content": await decode(ids[:depth])}, prompt]
        parts = np.array_split(np.arange(depth), 2 * history_turns)
        roles = ("user", "assistant")
        history = [
            # vLLM rejects empty content: a context shorter than its turns gets "." fillers
            {"role": roles[i % 2], "content": await decode([ids[int(j)] for j in part]) or "."}
            for i, part in enumerate(parts)
        ]
        return [*history, prompt]
