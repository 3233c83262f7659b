"""How many concurrent agents (or sessions per second) a box serves: read off the measured
load steps of a session benchmark, never interpolated between them.

A step passes a tier when its share of sessions meeting the tier (``slo_<tier>_pct``, mean over
its runs, a run that judged no session counting 0: ``metrics.sessions.step_passes``) reaches the
benchmark's ``attainment``. The capacity within a tier is the largest passing load *below the
lowest failing one*: the true limit lies between the highest pass and the lowest fail, so a
pass above a fail (noise, or a step measured apart) does not raise it, and the note says the
steps were out of order. A capacity at the highest measured step is a lower bound
(``AgentCapacity.lower_bound``): nothing above it was measured. Per GPU divides by the job's
GPUs; per kW by the benchmark's mean GPU power over its whole window (every step), since
telemetry is not split by step: the note says so. A benchmark judged invalid (too many
failures, a warm cache where it declared none) keeps its steps, which are what was measured,
but gets no capacity: ``withheld`` says why.
"""

from arena.common.metrics.catalogue import slo_key
from arena.common.metrics.derive import step_load
from arena.common.metrics.sessions import load_unit, step_passes
from arena.common.schemas.results import (
    AgentCapacity,
    BenchmarkResult,
    EnergyFigures,
    LoadStep,
    VariantResult,
)
from arena.common.schemas.suite import SessionBenchmark
from arena.common.suites.variants import parse_session_variant

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
    return LoadStep(
        variant=variant.key,
        load=load,
        runs=variant.runs,
        sessions=round(sessions.mean * variant.runs) if sessions and sessions.mean else 0,
        attainment_pct=attainment,
        passed={
            tier.name: step_passes(_run_shares(variant, slo_key(tier.name)), bench.attainment)
            for tier in bench.slo
        },
    )


def _run_shares(variant: VariantResult, key: str) -> list[float | None]:
    """The step's per-run shares (0..1) as ``step_passes`` wants them: the stored mean over the
    ``n`` runs that judged sessions, and ``None`` for each of the step's other runs."""
    stat = variant.metrics.get(key)
    judged = stat.n if stat is not None and stat.mean is not None else 0
    share = stat.mean / 100.0 if stat is not None and stat.mean is not None else None
    return [share] * judged + [None] * max(variant.runs - judged, 0)


def _capacity(steps: list[LoadStep], tier: str) -> tuple[float | None, bool]:
    """The largest passing load below the lowest failing one (``steps`` in load order), and
    whether a step above that failure passed (the steps are out of order)."""
    lowest_fail = min((s.load for s in steps if not s.passed[tier]), default=None)
    below = [
        s.load for s in steps if s.passed[tier] and (lowest_fail is None or s.load < lowest_fail)
    ]
    out_of_order = any(s.passed[tier] and s.load not in below for s in steps)
    return max(below, default=None), out_of_order


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
    found = {name: _capacity(steps, name) for name in tiers}
    capacity = {name: None if withheld else found[name][0] for name in tiers}
    power = energy.mean_power_w if energy is not None else None
    notes = [f"no capacity: {withheld}"] if withheld else []
    if disordered := [name for name in tiers if found[name][1]]:
        notes.append(
            "steps out of order in " + ", ".join(disordered) + ": a step passed above a "
            "failing one; the capacity stops below the lowest failing step"
        )
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
