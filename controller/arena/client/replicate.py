"""Replication: the same suite again on other (official) agents, and the check that the two
runs agree within the methodology's ±2% run-to-run tolerance, metric by metric."""

from dataclasses import dataclass

import yaml

from arena.common.errors import ArenaError
from arena.common.schemas.results import JobResult, RunResults
from arena.common.schemas.trust import TrustTier

TOLERANCE_PCT = 2.0
_TARGET_KEYS = {
    "agent": "agent",
    "gpu": "gpu_name",
    "gpu_name": "gpu_name",
    "cpu_arch": "cpu_arch",
    "min_vram_gb": "min_vram_gb",
}


def parse_selector(text: str) -> dict[str, object]:
    """``gpu=H200,site=lab`` → a target: known selectors by name, anything else a label."""
    target: dict[str, object] = {"name": "replica", "tier": TrustTier.OFFICIAL.value}
    labels: dict[str, str] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise ArenaError(f"selector {part!r}: expected key=value")
        if key in _TARGET_KEYS:
            target[_TARGET_KEYS[key]] = float(value) if key == "min_vram_gb" else value
        else:
            labels[key] = value
    if labels:
        target["labels"] = labels
    return target


def replica_suite(suite_yaml: str, selector: str) -> str:
    """The suite with its targets replaced by one official target matching ``selector``."""
    document = yaml.safe_load(suite_yaml)
    if not isinstance(document, dict):
        raise ArenaError("the run's suite is not a mapping")
    document["targets"] = [parse_selector(selector)]
    return yaml.safe_dump(document, sort_keys=False)


@dataclass(frozen=True)
class Difference:
    model: str
    engine: str
    benchmark: str
    variant: str
    metric: str
    first: float
    second: float
    diff_pct: float

    @property
    def flagged(self) -> bool:
        return abs(self.diff_pct) > TOLERANCE_PCT


def _by_identity(results: RunResults) -> dict[tuple[str, str], JobResult]:
    return {(job.model, job.engine): job for job in results.jobs}


def differences(first: RunResults, second: RunResults) -> list[Difference]:
    """Every metric the two runs both measured (same model, engine, benchmark, variant)."""
    found = []
    others = _by_identity(second)
    for identity, job in _by_identity(first).items():
        other = others.get(identity)
        if other is None:
            continue
        variants = {
            (bench.id, variant.key): variant
            for bench in other.benchmarks
            for variant in bench.variants
        }
        for bench in job.benchmarks:
            for variant in bench.variants:
                twin = variants.get((bench.id, variant.key))
                if twin is None:
                    continue
                for key, stat in variant.metrics.items():
                    mirror = twin.metrics.get(key)
                    a, b = stat.mean, mirror.mean if mirror else None
                    if a is None or b is None or a == 0:
                        continue
                    found.append(
                        Difference(*identity, bench.id, variant.key, key, a, b, (b - a) / a * 100)
                    )
    return found
