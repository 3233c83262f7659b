"""The simulated engine's word tokenizer: exact lengths, stable ids, round trips."""

import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arena.agent.simulated.tokenizer import (
    BOS_ID,
    EOS_ID,
    SPECIAL_TOKENS,
    VOCAB,
    VOCAB_SIZE,
    count_tokens,
    decode,
    encode,
    token_text,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

vocab_words = st.lists(st.sampled_from(VOCAB), max_size=50)


def test_vocabulary_is_unique_plain_words() -> None:
    assert len(VOCAB) == VOCAB_SIZE
    assert len(set(VOCAB)) == VOCAB_SIZE
    assert all(word.isalpha() and word.islower() for word in VOCAB)


def test_vocabulary_is_the_same_in_every_process() -> None:
    program = "import zlib; from arena.agent.simulated.tokenizer import VOCAB; "
    program += "print(zlib.crc32(' '.join(VOCAB).encode()))"
    digests = {
        subprocess.run(
            [sys.executable, "-c", program],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(hash_seed), "PYTHONPATH": str(REPO_ROOT)},
        ).stdout.strip()
        for hash_seed in (1, 2)
    }
    assert digests == {str(zlib.crc32(" ".join(VOCAB).encode()))}


@given(vocab_words)
def test_n_vocabulary_words_are_n_tokens_and_round_trip(words: list[str]) -> None:
    text = " ".join(words)
    ids = encode(text)
    assert len(ids) == len(words)
    assert decode(ids) == text


@given(st.text())
def test_count_tokens_matches_encode(text: str) -> None:
    assert count_tokens(text) == len(encode(text))


def test_any_whitespace_separates_words() -> None:
    assert encode(f"{VOCAB[3]}\n\n{VOCAB[7]}\t  {VOCAB[9]} ") == [3, 7, 9]


def test_unknown_words_get_a_stable_vocabulary_id() -> None:
    ids = encode("Hello, hello, Hello,")
    assert ids[0] == ids[2] == encode("Hello,")[0]
    assert all(0 <= token_id < VOCAB_SIZE for token_id in ids)
    assert decode([ids[0]]) == VOCAB[ids[0]]


def test_special_tokens_decode_and_encode_to_their_ids() -> None:
    assert decode([BOS_ID, EOS_ID]) == " ".join(SPECIAL_TOKENS)
    assert encode(" ".join(SPECIAL_TOKENS)) == [BOS_ID, EOS_ID]


@pytest.mark.parametrize("bad_id", [-1, EOS_ID + 1])
def test_ids_outside_the_vocabulary_are_refused(bad_id: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        token_text(bad_id)
