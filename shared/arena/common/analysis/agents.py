"""How many concurrent agents (or sessions per second) a box serves: read off the measured
load steps of a session benchmark, never interpolated between them.

A step passes a tier when its share of sessions meeting the tier (``slo_<tier>_pct``, mean over
its runs) reaches the benchmark's ``attainment``; the capacity within a tier is the largest
load of a passing step. Per GPU divides by the job's GPUs; per kW by the benchmark's mean GPU
power over its whole window (every step), since telemetry is not split by step: the note says
so. A benchmark judged invalid (too many failures, a warm cache where it declared none) keeps
its steps, which are what was measured, but gets no capacity: ``withheld`` says why.
"""

from arena.common.metrics.catalogue import slo_key
from arena.common.metrics.derive import step_load
from arena.common.metrics.sessions import load_unit
from arena.common.schemas.results import (
    AgentCapacity,
    BenchmarkResult,
    EnergyFigures,
    LoadStep,
    VariantResult,
)
from arena.common.schemas.suite import SessionBenchmark
from arena.common.suites.variants import parse_session_variant

ATTAINMENT_SLACK_PCT = 1e-9
"""Float noise allowed below the target: 19 of 20 sessions is exactly 95 %."""
INVALID = "the benchmark is invalid (its flags say why)"
POWER_NOTE = (
    "per kW divides by the benchmark's mean GPU power over all its steps, not the power at "
    "the capacity step"
)


def _step(bench: SessionBenchmark, variant: VariantResult) -> LoadStep | None:
    stated = variant.metrics.get("load")
    parsed = parse_session_variant(variant.key)
    load = stated.mean if stated is not None else parsed and step_load(parsed)
    if load is None:
        return None
    sessions = variant.metrics.get("sessions")
    attainment = {
        tier.name: stat.mean if (stat := variant.metrics.get(slo_key(tier.name))) else None
        for tier in bench.slo
    }
    target = bench.attainment * 100.0
    return LoadStep(
        variant=variant.key,
        load=load,
        runs=variant.runs,
        sessions=round(sessions.mean * variant.runs) if sessions and sessions.mean else 0,
        attainment_pct=attainment,
        passed={
            name: pct is not None and pct >= target - ATTAINMENT_SLACK_PCT
            for name, pct in attainment.items()
        },
    )


def _per(capacity: dict[str, float | None], divisor: float | None) -> dict[str, float | None]:
    if not divisor:
        return {}
    return {name: None if load is None else load / divisor for name, load in capacity.items()}


def agent_capacity(
    bench: SessionBenchmark,
    variants: list[VariantResult],
    energy: EnergyFigures | None,
    gpus: int | None,
    withheld: str | None = None,
) -> AgentCapacity | None:
    """The capacity per SLO tier read off ``variants`` (the benchmark's measured steps);
    ``None`` for a replay of the trace's own arrivals, which has no load to vary."""
    unit = load_unit(bench)
    if unit is None:
        return None
    steps = sorted(
        (step for variant in variants if (step := _step(bench, variant)) is not None),
        key=lambda step: step.load,
    )
    tiers = [tier.name for tier in bench.slo]
    capacity: dict[str, float | None] = {
        name: None
        if withheld
        else max((step.load for step in steps if step.passed[name]), default=None)
        for name in tiers
    }
    power = energy.mean_power_w if energy is not None else None
    notes = [f"no capacity: {withheld}"] if withheld else []
    if power and not withheld:
        notes.append(POWER_NOTE)
    return AgentCapacity(
        unit=unit,
        target_pct=bench.attainment * 100.0,
        tiers=tiers,
        capacity=capacity,
        steps=steps,
        gpus=gpus,
        per_gpu=_per(capacity, gpus),
        mean_power_w=power,
        per_kw=_per(capacity, power / 1000.0 if power else None),
        note="; ".join(notes),
    )


def judged_capacity(
    bench: SessionBenchmark, result: BenchmarkResult, gpus: int | None
) -> AgentCapacity | None:
    """``agent_capacity`` of a benchmark already judged (``metrics.validity.assess``): an
    invalid one keeps its steps and gets no capacity."""
    return agent_capacity(
        bench, result.variants, result.energy, gpus, withheld=None if result.valid else INVALID
    )
