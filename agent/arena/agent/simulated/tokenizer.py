"""A deterministic word-level tokenizer, so prompt lengths are exact without any model files.

The vocabulary is ``VOCAB_SIZE`` pseudo-words generated from a fixed seed; one word is one
token. Words outside the vocabulary map to a stable id (crc32 modulo the vocabulary size), so
a prompt of N whitespace-separated words is always N tokens.
"""

import random
import zlib
from collections.abc import Iterable
from typing import cast

VOCAB_SIZE = 4096
BOS_ID = VOCAB_SIZE
EOS_ID = VOCAB_SIZE + 1
SPECIAL_TOKENS = ("<|begin_of_text|>", "<|end_of_text|>")
"""Texts of ``BOS_ID`` and ``EOS_ID``; never added by ``encode`` (prompts carry no overhead)."""

_SEED = 20250601
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "st")
_VOWELS = ("a", "e", "i", "o", "u")
_CODAS = ("", "", "", "n", "r", "s", "l")


def _pseudo_words(count: int, seed: int) -> tuple[str, ...]:
    """Pronounceable, unique, lowercase words of one to three syllables."""
    rng = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < count:
        syllables = rng.randint(1, 3)
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
        )
        words.setdefault(word)
    return tuple(words)


VOCAB: tuple[str, ...] = _pseudo_words(VOCAB_SIZE, _SEED)
"""The vocabulary: ``VOCAB[i]`` is the text of token ``i``."""

_TOKEN_TEXTS = VOCAB + SPECIAL_TOKENS
_IDS = {text: token_id for token_id, text in enumerate(_TOKEN_TEXTS)}


def encode(text: str) -> list[int]:
    """One id per whitespace-separated word; unknown words get a stable vocabulary id."""
    words = text.split()
    known = list(map(_IDS.get, words))  # the common case at C speed: prompts can be 100k words
    if None not in known:
        return cast(list[int], known)
    return [_word_id(word) for word in words]


def decode(ids: Iterable[int]) -> str:
    """Token texts joined by single spaces; ``ValueError`` for ids outside the vocabulary."""
    return " ".join(token_text(token_id) for token_id in ids)


def token_text(token_id: int) -> str:
    if not 0 <= token_id < len(_TOKEN_TEXTS):
        raise ValueError(f"token id {token_id} is outside 0..{len(_TOKEN_TEXTS) - 1}")
    return _TOKEN_TEXTS[token_id]


def count_tokens(text: str) -> int:
    """``len(encode(text))`` without building the list (prompts can be 100k words)."""
    return len(text.split())


def _word_id(word: str) -> int:
    known = _IDS.get(word)
    if known is not None:
        return known
    return zlib.crc32(word.encode()) % VOCAB_SIZE
