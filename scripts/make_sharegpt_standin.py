"""Write the synthetic ShareGPT-format stand-in:
shared/arena/common/suites/data/sharegpt-synthetic.json.

ShareGPT V3 cannot be bundled or downloaded here, so ShareGPT benchmarks fall back to this file.
It copies V3's shape (a list of ``{"id", "conversations": [{"from", "value"}, ...]}``) and
plausible turn lengths (human 10-400 words, gpt 20-600 words, right-skewed), with some
one-turn conversations so that the ≥ 2-turn filter has something to drop. The text is seeded
word salad from the list below: same seed, same bytes.

    python scripts/make_sharegpt_standin.py [--seed 0] [--count 400] [--out PATH]
"""

import argparse
import json
import random
from pathlib import Path
from typing import Any

DEFAULT_OUT = (
    Path(__file__).resolve().parent.parent
    / "shared/arena/common/suites/data/sharegpt-synthetic.json"
)

WORD_TEXT = """
the a an and or but if then because so while when where which that this these those it its
we you they he she I me my our your their them us what how why who can could would should will
may might must do does did make made take use used find give tell ask explain write read show
help need want know think see look work run build test check change fix add remove start stop
data model system server request response file code function class value list table query
error result example question answer problem solution step process method user client team
project report plan design review change update version release feature issue bug test case
time day week month year number part place way point level line page word text message email
document summary analysis market product customer price cost sales business company service
network memory disk cache thread process input output format string number object array key
simple clear quick long short small large new old first last next other same different good
better best important possible available common specific general useful correct wrong easy
python java script sql json yaml html css linux docker api database cloud storage security
please thanks sure great okay also just only even still again already often usually maybe
about after before between during into through over under with without within across against
"""
WORDS = WORD_TEXT.split()

HUMAN_WORDS = (10, 400)
GPT_WORDS = (20, 600)


def skewed_length(rng: random.Random, low: int, high: int, median: int) -> int:
    """Log-normal around ``median``, clipped: most turns are short, a few are long."""
    return max(low, min(high, round(rng.lognormvariate(0, 0.8) * median)))


def sentence(rng: random.Random, words: int) -> str:
    chosen = rng.choices(WORDS, k=words)
    text = " ".join(chosen)
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "?", "!"])


def paragraph(rng: random.Random, words: int) -> str:
    parts: list[str] = []
    left = words
    while left > 0:
        size = min(left, rng.randint(6, 22))
        parts.append(sentence(rng, size))
        left -= size
    return " ".join(parts)


def conversation_id(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choices(alphabet, k=7)) + f"_{rng.choice([0, 0, 0, 2, 4])}"


def conversation(rng: random.Random) -> dict[str, Any]:
    """1 turn (about 12%), 2 turns (about 60%) or 4-6 alternating turns."""
    roll = rng.random()
    turns = 1 if roll < 0.12 else 2 if roll < 0.72 else rng.choice([4, 4, 6])
    messages = []
    for index in range(turns):
        if index % 2 == 0:
            words = skewed_length(rng, *HUMAN_WORDS, median=45)
            messages.append({"from": "human", "value": paragraph(rng, words)})
        else:
            words = skewed_length(rng, *GPT_WORDS, median=140)
            messages.append({"from": "gpt", "value": paragraph(rng, words)})
    return {"id": conversation_id(rng), "conversations": messages}


def generate(seed: int = 0, count: int = 400) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [conversation(rng) for _ in range(count)]


def render(conversations: list[dict[str, Any]]) -> str:
    """One conversation per line: valid JSON that still diffs readably."""
    lines = ",\n".join(json.dumps(item, ensure_ascii=False) for item in conversations)
    return f"[\n{lines}\n]\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic ShareGPT stand-in.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    text = render(generate(args.seed, args.count))
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.count} conversations, {len(text.encode()) / 1e6:.2f} MB to {args.out}")


if __name__ == "__main__":
    main()
