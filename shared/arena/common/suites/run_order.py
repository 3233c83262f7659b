"""The order in which a benchmark's (variant, run) pairs run: one definition, read by the
generator that runs them and by the agent that records them in the job's provenance.

``sequential``: variant by variant, each variant's runs in turn (the reference tools' order).
``shuffled``: the same pairs in a random order drawn from the suite's seed and the benchmark's
id, so the same suite always runs in the same order and two benchmarks do not share one.
"""

import random

from arena.common.schemas.suite import RunOrder

PROVENANCE_KEY = "run_order"
"""``provenance["run_order"][benchmark] = {"order": ..., "runs": ["<variant>#<run>", ...]}``
(``#``: variant keys contain ``/``)."""


def run_pairs(
    variant_keys: list[str], runs: int, order: RunOrder, seed: int, benchmark: str
) -> list[tuple[int, int]]:
    """(variant index, run) pairs in the order they run."""
    pairs = [(index, run) for index in range(len(variant_keys)) for run in range(runs)]
    if order == "shuffled":
        random.Random(f"{seed}/{benchmark}").shuffle(pairs)
    return pairs


def order_record(
    variant_keys: list[str], runs: int, order: RunOrder, seed: int, benchmark: str
) -> dict[str, object]:
    """What the job's provenance keeps: the order's name and the pairs as ``variant#run``."""
    pairs = run_pairs(variant_keys, runs, order, seed, benchmark)
    return {"order": order, "runs": [f"{variant_keys[index]}#{run}" for index, run in pairs]}
