"""A built-in, deterministic source of prompt text: seeded pseudo-English, no files, no network.

llama-benchy slices a downloaded book and vLLM slices the vocabulary; Arena slices this text,
tokenised by the engine, so every machine builds the same prompts without downloads. Sentences
of varied length from a fixed word list keep tokenisation close to ordinary prose.
"""

import random
from functools import lru_cache

from arena.agent.generator.tokens import Tokenizer

CORPUS_WORDS = 40_000
"""About 50k tokens with common tokenizers: room for many distinct long prompts."""

_WORD_TEXT = """
the of and to in is that it was for on are as with his they at be this from have or by one had
not but what all were when we there can an your which their said if do will each about how up
out them then she many some so these would other into has more her two like him see time could
no make than first been its who now people my made over did down only way find use may water
long little very after words called just where most know get through back much go good new
write our me man too any day same right look think also around another came come work three
word must because does part even place well such here take why things help put years different
away again off went old number great tell men say small every found still between name should
home big give air line set own under read last never us left end along while might next sound
below saw something thought both few those always looked show large often together asked house
world going want school important until form food keep children feet land side without boy once
animals life enough took sometimes four head above kind began almost live page got earth need
far hand high year mother light parts country father let night following picture being study
second eyes soon times story boys since white days ever paper hard near sentence better best
across during today others however sure means knew together river city open seemed morning
road tree field north south city river mountain quiet simple early clear yellow green winter
summer voice music table window garden letter market bridge engine signal measure result
"""
_WORDS = tuple(_WORD_TEXT.split())


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 18))]
    if len(words) > 8 and rng.random() < 0.4:
        cut = rng.randint(3, len(words) - 3)
        words[cut] += ","
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice(".....?!")


@lru_cache(maxsize=4)
def corpus_text(seed: int = 0, words: int = CORPUS_WORDS) -> str:
    """The same text for the same arguments, on every machine and Python version."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    count = 0
    while count < words:
        sentences = [_sentence(rng) for _ in range(rng.randint(3, 7))]
        paragraphs.append(" ".join(sentences))
        count += sum(len(s.split()) for s in sentences)
    return "\n\n".join(paragraphs)


async def corpus_tokens(tokenizer: Tokenizer, seed: int = 0) -> list[int]:
    """The corpus as the engine tokenises it: the pool prompts are sliced from."""
    return await tokenizer.encode(corpus_text(seed))
