"""Prompt building against a small real tokenizer (words ↔ ids) that implements the protocol."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from arena.agent.generator.corpus import corpus_text
from arena.agent.generator.datasets import (
    ClosedLoopPrompts,
    random_dataset,
    sharegpt_dataset,
    sharegpt_keeps,
)
from arena.common.suites.variants import length_bounds

GLUED = "glued pair"
"""Token 0 decodes to two words, which re-encode as two tokens: the re-fit loop must react."""


class WordTokenizer:
    def __init__(self) -> None:
        self.vocab: dict[str, int] = {GLUED: 0}
        self.words: list[str] = [GLUED]

    async def encode(self, text: str) -> list[int]:
        ids = []
        for word in text.split():
            if word not in self.vocab:
                self.vocab[word] = len(self.words)
                self.words.append(word)
            ids.append(self.vocab[word])
        return ids

    async def decode(self, ids: list[int]) -> str:
        return " ".join(self.words[i] for i in ids)


def test_corpus_is_deterministic_prose() -> None:
    assert corpus_text(0) == corpus_text(0)
    assert corpus_text(0) != corpus_text(1)
    words = corpus_text(0).split()
    assert len(words) >= 40_000 and words[0][0].isupper()


def test_length_bounds() -> None:
    # 4000 · (1 − 0.9) is 399.99999999999994 in floats: vLLM's floor gives 399 too
    assert length_bounds(4000, 0.9) == (399, 7600)
    assert length_bounds(1, 0.5, minimum=1) == (1, 2)
    assert length_bounds(10, 0.0) == (10, 10)


async def test_random_dataset_hits_lengths_and_draws_like_vllm() -> None:
    tokenizer = WordTokenizer()
    pool = [0, *await tokenizer.encode("alpha beta gamma delta epsilon zeta eta theta")]
    prompts = await random_dataset(
        tokenizer,
        pool,
        num_prompts=6,
        input_len=20,
        output_len=10,
        range_ratio=0.5,
        prefix_len=3,
        seed=42,
    )
    rng = np.random.default_rng(42)
    inputs = rng.integers(10, 31, size=6)
    outputs = rng.integers(5, 16, size=6)
    for prompt, input_len, output_len in zip(prompts, inputs, outputs, strict=True):
        assert prompt.prompt_len == 3 + input_len
        assert len(await tokenizer.encode(prompt.messages[0]["content"])) == prompt.prompt_len
        assert prompt.max_tokens == output_len
        assert prompt.ignore_eos
    starts = {tuple(p.messages[0]["content"].split()[:3]) for p in prompts}
    assert len(starts) == 1  # the shared prefix; fitting only pads or cuts at the end


def write_sharegpt(path: Path) -> list[tuple[str, str]]:
    entries = [
        {"conversations": [{"value": "only one turn here"}]},
        {"conversations": [{"value": "too short"}, {"value": "a b c d e"}]},
        {"conversations": [{"value": "w " * 1100}, {"value": "a b c d"}]},
        {"conversations": [{"value": "one two three four"}, {"value": "no"}]},
    ]
    valid = [(f"question number {i} is here", f"answer number {i} is given") for i in range(3)]
    entries += [{"conversations": [{"value": q}, {"value": a}]} for q, a in valid]
    path.write_text(json.dumps(entries))
    return valid


async def test_sharegpt_filters_shuffles_and_oversamples(tmp_path: Path) -> None:
    valid = write_sharegpt(tmp_path / "sharegpt.json")
    prompts = await sharegpt_dataset(
        WordTokenizer(), tmp_path / "sharegpt.json", num_prompts=5, seed=3
    )
    questions = [p.messages[0]["content"] for p in prompts]
    assert set(questions) == {q for q, _ in valid}
    assert len(prompts) == 5
    assert all(p.max_tokens == 5 and p.prompt_len == 5 and not p.ignore_eos for p in prompts)
    # order: entries with ≥ 2 turns shuffled by random.Random(3), then filtered
    pairs = [("too short", ""), ("w", ""), ("one two three four", ""), *valid]
    random.Random(3).shuffle(pairs)
    assert questions[:3] == [q for q, _ in pairs if q.startswith("question")]


async def test_sharegpt_fixed_output_skips_the_minimum_output_check(tmp_path: Path) -> None:
    write_sharegpt(tmp_path / "sharegpt.json")
    prompts = await sharegpt_dataset(
        WordTokenizer(), tmp_path / "sharegpt.json", num_prompts=4, seed=0, output_len=2
    )
    assert "one two three four" in {p.messages[0]["content"] for p in prompts}
    assert all(p.max_tokens == 2 for p in prompts)


def test_sharegpt_rules() -> None:
    assert sharegpt_keeps(4, 4, False)
    assert not sharegpt_keeps(3, 10, False)
    assert not sharegpt_keeps(10, 3, False) and sharegpt_keeps(10, 3, True)
    assert not sharegpt_keeps(1025, 4, False)
    assert not sharegpt_keeps(1024, 1025, False)


async def test_closed_loop_prompts_are_unique_and_exact() -> None:
    tokenizer = WordTokenizer()
    pool = await tokenizer.encode(corpus_text(0)[:20_000])
    prompts = ClosedLoopPrompts(tokenizer, pool, seed=1)
    plain = [await prompts.messages(pp=32, depth=0) for _ in range(20)]
    assert len({m[0]["content"] for m in plain}) == 20
    assert [len(await tokenizer.encode(m[0]["content"])) for m in plain] == [32] * 20

    context = await prompts.messages(pp=8, depth=24)
    assert [m["role"] for m in context] == ["system", "user"]
    assert len(await tokenizer.encode(context[0]["content"])) == 24

    turns = await prompts.messages(pp=8, depth=24, history_turns=2)
    assert [m["role"] for m in turns] == ["user", "assistant", "user", "assistant", "user"]
    history = [len(await tokenizer.encode(m["content"])) for m in turns[:-1]]
    assert history == [6, 6, 6, 6]


@pytest.mark.parametrize("seed", [0, 5])
async def test_random_dataset_is_reproducible(seed: int) -> None:
    async def build() -> list[str]:
        tokenizer = WordTokenizer()
        pool = await tokenizer.encode(corpus_text(0)[:5000])
        prompts = await random_dataset(
            tokenizer, pool, num_prompts=3, input_len=16, output_len=4, seed=seed
        )
        return [p.messages[0]["content"] for p in prompts]

    assert await build() == await build()
