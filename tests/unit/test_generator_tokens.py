"""The local tokenizer (a real tokenizer.json trained here) and the tokenizer factory."""

import asyncio
import threading
from pathlib import Path

import pytest
import tokenizers

from arena.agent.generator.client import Endpoint
from arena.agent.generator.tokens import (
    LocalTokenizer,
    ServerOrApproximate,
    TokenizerError,
    make_tokenizer,
)
from arena.common.schemas.suite import ModelSpec

TEXT = "the quick brown fox jumps over the lazy dog, again and again and again"


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE())
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<s>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator([TEXT] * 20, trainer)
    folder = tmp_path_factory.mktemp("tok")
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder


async def test_round_trip_from_a_folder_or_the_file(tokenizer_dir: Path) -> None:
    for path in (tokenizer_dir, tokenizer_dir / "tokenizer.json"):
        tokenizer = LocalTokenizer(path)
        ids = await tokenizer.encode(TEXT)
        assert 0 < len(ids) < len(TEXT)  # merges learnt: fewer tokens than bytes
        assert await tokenizer.decode(ids) == TEXT
        assert await tokenizer.encode("") == []  # no special tokens added
        await tokenizer.close()


def test_missing_file_is_a_tokenizer_error(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError):
        LocalTokenizer(tmp_path / "nothing.json")


def test_factory_prefers_the_suites_tokenizer(tokenizer_dir: Path) -> None:
    endpoint = Endpoint("http://127.0.0.1:1", "m")
    local = make_tokenizer(ModelSpec(name="m", engine="e", tokenizer=str(tokenizer_dir)), endpoint)
    assert isinstance(local, LocalTokenizer)
    server = make_tokenizer(ModelSpec(name="m", engine="e"), endpoint)
    assert isinstance(server, ServerOrApproximate)


async def test_a_local_tokenizer_counts_off_the_event_loop(tokenizer_dir: Path) -> None:
    """A long answer's encode must not hold the loop while ``settle`` counts a run."""
    tokenizer = LocalTokenizer(tokenizer_dir)
    loop_thread = threading.get_ident()
    seen: list[int] = []
    inner = tokenizer._tokenizer

    class Spy:
        def encode(self, text: str, add_special_tokens: bool) -> object:
            seen.append(threading.get_ident())
            return inner.encode(text, add_special_tokens=add_special_tokens)

        def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
            seen.append(threading.get_ident())
            text: str = inner.decode(ids, skip_special_tokens=skip_special_tokens)
            return text

    tokenizer._tokenizer = Spy()
    ids, _ = await asyncio.gather(tokenizer.encode(TEXT), asyncio.sleep(0))
    assert await tokenizer.decode(ids) == TEXT
    assert seen and loop_thread not in seen
