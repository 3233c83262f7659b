"""An engine sized for fewer or shorter requests than its benchmark sends (llama.cpp slots).

llama-server serves at most ``total_slots`` requests at once (``-np``) and gives each slot
``n_ctx`` tokens of context (``-c`` split over the slots, or the whole of it with
``--kv-unified``); its ``/props`` says both, and the agent records them in the job's
provenance. A benchmark whose largest concurrency exceeds the slots measured requests queueing
inside the engine; one whose longest request exceeds a slot's context had its long requests
fail. Both are warnings, never invalid: the numbers are real, only not what the suite meant.
Engines without ``/props`` (vLLM, SGLang, the simulated engine) record nothing and get no flag.

Layout: ``provenance["engine_slots"] = {"slots": 4, "slot_context": 8192}``.
"""

from dataclasses import dataclass
from typing import Any

from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark, OpenLoopBenchmark
from arena.common.suites.variants import (
    SHAREGPT_MAX_PROMPT,
    SHAREGPT_MAX_TOTAL,
    length_bounds,
)

KEY = "engine_slots"
QUEUE_FLAG = "warning: engine serves {slots} requests at once (llama.cpp slots) but "
CONTEXT_FLAG = "warning: requests of up to {longest} tokens (prompt, context and answer): "
MAX_FLAG_CHARS = 300

MAX_SLOTS = 1 << 20
MAX_SLOT_CONTEXT = 1 << 30
"""Bounds on what an engine may claim: larger values are no real engine's and are not
recorded (a flag computed from them would mislead)."""


@dataclass(frozen=True)
class EngineSlots:
    slots: int
    """Requests the engine serves at once."""
    slot_context: int
    """Tokens of context one request may use (prompt, history and answer together)."""


def _count(value: object, ceiling: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ceiling:
        return None
    return value


def slots_of(slots: object, slot_context: object) -> EngineSlots | None:
    """Both values as counts in bounds, or None (anything else is no usable answer)."""
    found, context = _count(slots, MAX_SLOTS), _count(slot_context, MAX_SLOT_CONTEXT)
    return EngineSlots(found, context) if found and context else None


def put_slots(provenance: dict[str, Any], slots: EngineSlots) -> None:
    provenance[KEY] = {"slots": slots.slots, "slot_context": slots.slot_context}


def recorded_slots(provenance: dict[str, Any]) -> EngineSlots | None:
    recorded = provenance.get(KEY)
    if not isinstance(recorded, dict):
        return None
    return slots_of(recorded.get("slots"), recorded.get("slot_context"))


def largest_concurrency(bench: Benchmark) -> int | None:
    """The most requests the benchmark keeps in flight, where it bounds them: a closed loop's
    largest ``concurrency``, an open loop's ``max_concurrency`` (without it the arrivals alone
    decide). Session benchmarks vary their load by design and are not judged."""
    if isinstance(bench, ClosedLoopBenchmark):
        return max(bench.concurrency)
    if isinstance(bench, OpenLoopBenchmark):
        return bench.max_concurrency
    return None


def longest_request(bench: Benchmark) -> int | None:
    """The most tokens one request may hold (prompt, context and answer), by the generators'
    rules, before the chat template's few tokens: a closed loop's largest pp + depth + tg, the
    random dataset's top of range plus its shared prefix, ShareGPT's filter limits."""
    if isinstance(bench, ClosedLoopBenchmark):
        return max(bench.pp) + max(bench.depth) + max(bench.tg)
    if not isinstance(bench, OpenLoopBenchmark):
        return None
    if bench.dataset == "sharegpt":
        if bench.output_len is None:
            return SHAREGPT_MAX_TOTAL
        return SHAREGPT_MAX_PROMPT + bench.output_len
    assert bench.input_len is not None and bench.output_len is not None  # schema-validated
    prompt = length_bounds(bench.input_len, bench.range_ratio)[1] + bench.prefix_len
    return prompt + length_bounds(bench.output_len, bench.range_ratio, minimum=1)[1]


def slot_flags(bench: Benchmark, slots: EngineSlots | None) -> list[str]:
    """The warnings for a benchmark the engine's slots do not fit; none without slots."""
    if slots is None:
        return []
    flags = []
    concurrency = largest_concurrency(bench)
    if concurrency is not None and concurrency > slots.slots:
        flags.append(
            QUEUE_FLAG.format(slots=slots.slots)
            + f"concurrency {concurrency}: the rest queue inside the engine"
        )
    longest = longest_request(bench)
    if longest is not None and longest > slots.slot_context:
        flags.append(
            CONTEXT_FLAG.format(longest=longest)
            + f"requests longer than the engine's {slots.slot_context}-token slot context fail"
        )
    return flags


def carried_slot_flags(flags: object) -> list[str]:
    """The slot warnings among an Arena export's flags of one benchmark, for its import: they
    cannot be recomputed there (neither the engine's slots nor the benchmark's settings
    travel), so the words the measured job got are kept; any other flag is recomputed."""
    if not isinstance(flags, list):
        return []
    heads = (QUEUE_FLAG.split("{")[0], CONTEXT_FLAG.split("{")[0])
    found = [
        flag
        for flag in flags
        if isinstance(flag, str) and len(flag) <= MAX_FLAG_CHARS and flag.startswith(heads)
    ]
    return list(dict.fromkeys(found))[:2]  # one per rule at most
