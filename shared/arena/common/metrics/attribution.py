"""When a benchmark's runs disagree, which of client, box or engine moved: one rule, pure.

Each of a noisy variant's runs (spread above ``validity.SPREAD_LIMIT_PCT``) carries three kinds
of figures; each source is judged on its own and said to have *moved*, held *steady*, or not
been measured:

- **client** moved when any run's event-loop lag p99 exceeded its limit
  (``client_verdict.LIMITS``) or the run was flagged ``client_saturated``: the client's own
  timing, not the server, may have shifted the numbers. Its figures come from the run's metrics
  or the job's ``client_load`` provenance (``RunClientFigures``).
- **box** moved when the runs differ: some were throttled and some not, or a run's median SM
  clock sat more than ``box.CLOCK_DROP_PCT`` below the variant's fastest run (the rule and limit
  of the ``box slowed`` flag). Runs all throttled alike (every run at the power cap, routine at
  TDP) held the box steady.
- **engine** moved when the engine's own time per output token (``engine_tpot_ms``, read from
  its metrics endpoint around each run) deviates from its runs' mean by more than
  ``MOVED_PCT``; "client TPOT tracks it" when the run the engine found slowest was slower at
  the client too than the run it found fastest.

The deviation is the spread's own measure (largest deviation of one run from the mean), so a
source that moved as much as the flagged spread is seen. The sentence reads e.g. "runs of c5
disagree ±7.3 %: engine moved (engine TPOT 3.8–5.3 ms per token across runs, client TPOT
tracks it); box steady (SM 1980 MHz ±0.3 %); client steady (loop lag p99 ≤ 0.2 ms)".
Documented in docs/telemetry.md.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from statistics import fmean
from typing import Any

from arena.common.metrics.box import CLOCK_DROP_PCT, RunFigures, clock_drops
from arena.common.metrics.client_load import RunClientFigures
from arena.common.metrics.client_verdict import LIMITS

MOVED_PCT = 2.0
"""An engine figure whose runs stray more than this from their mean moved."""
CLIENT_LAG_MS = next(limit.limit for limit in LIMITS if limit.key == "loop_lag_p99_ms")
"""An event-loop lag p99 above this is a client that fell behind its own timers."""

Run = Mapping[str, float | None]


def deviation_pct(values: Sequence[float]) -> float:
    """Largest deviation of one value from the mean, in % of the mean (0 under two values)."""
    from arena.common.stats import max_relative_deviation  # NumPy: validity (listings) reads us

    return max_relative_deviation(values) * 100


def client_figures(value: Any) -> dict[str, float]:
    """One run's entry of the ``client_load`` provenance, read by ``RunClientFigures``."""
    figures = RunClientFigures.from_json(value)
    if figures is None:
        return {}
    return {key: found for key, found in asdict(figures).items() if found is not None}


def client_tpot_ms(run: Run) -> float | None:
    """The client's time per output token in one run: open loop's mean TPOT; closed loop's
    per-request decode speed turned into ms per token."""
    if (tpot := run.get("mean_tpot_ms")) is not None:
        return tpot
    speed = run.get("tg_req_throughput")
    return 1000.0 / speed if speed else None


def _values(runs: Sequence[Run], key: str) -> list[float]:
    return [float(v) for run in runs if (v := run.get(key)) is not None]


def client_verdict(runs: Sequence[Run]) -> tuple[bool, str] | None:
    lags = _values(runs, "loop_lag_p99_ms")
    saturated = sum(1 for run in runs if run.get("client_saturated"))
    if not lags and not any("client_saturated" in run for run in runs):
        return None
    moved = saturated > 0 or any(lag > CLIENT_LAG_MS for lag in lags)
    said = [f"loop lag p99 ≤ {max(lags):.1f} ms"] if lags else []
    if saturated:
        said.append(f"saturated in {saturated} of {len(runs)} runs")
    return moved, ", ".join(said) or "not saturated"


def box_verdict(runs: Sequence[Run]) -> tuple[bool, str] | None:
    clocks = _values(runs, "sm_clock_mhz")
    states = [bool(run["throttled_runs"]) for run in runs if run.get("throttled_runs") is not None]
    if not clocks and not states:
        return None
    drop = max(clock_drops(clocks), default=0.0)
    throttled = sum(states)
    moved = drop > CLOCK_DROP_PCT or 0 < throttled < len(states)
    said = []
    if clocks:
        said.append(
            f"SM {min(clocks):.0f}–{max(clocks):.0f} MHz, slowest −{drop:.1f} %"
            if drop > CLOCK_DROP_PCT
            else f"SM {fmean(clocks):.0f} MHz within {drop:.1f} %"
        )
    if throttled:
        said.append(f"thermal/power throttle in {throttled} of {len(states)} runs")
    temps = _values(runs, "gpu_temp_max_c")
    if temps:
        said.append(f"≤ {max(temps):.0f} °C")
    return moved, ", ".join(said)


def engine_verdict(runs: Sequence[Run]) -> tuple[bool, str] | None:
    timed = [run for run in runs if run.get("engine_tpot_ms") is not None]
    if len(timed) < 2:
        return None
    tpots = _values(timed, "engine_tpot_ms")
    spread = deviation_pct(tpots)
    if spread <= MOVED_PCT:
        return False, f"engine TPOT {fmean(tpots):.2f} ms ±{spread:.1f} %"
    said = f"engine TPOT {min(tpots):.2f}–{max(tpots):.2f} ms per token across runs"
    fastest = min(timed, key=lambda run: run["engine_tpot_ms"] or 0.0)
    slowest = max(timed, key=lambda run: run["engine_tpot_ms"] or 0.0)
    low, high = client_tpot_ms(fastest), client_tpot_ms(slowest)
    if low is not None and high is not None:
        said += ", client TPOT tracks it" if high > low else ", client TPOT does not follow it"
    return True, said


def attribute(variant: str, spread_pct: float, runs: Sequence[Run]) -> str:
    """The sentence for one noisy variant: the sources that moved first, then the steady
    ones, then those not measured."""
    verdicts = {
        "engine": engine_verdict(runs),
        "box": box_verdict(runs),
        "client": client_verdict(runs),
    }
    known = {name: verdict for name, verdict in verdicts.items() if verdict is not None}
    moved = [f"{name} moved ({said})" for name, (went, said) in known.items() if went]
    steady = [f"{name} steady ({said})" for name, (went, said) in known.items() if not went]
    unknown = [name for name in verdicts if name not in known]
    parts = moved + steady + ([" and ".join(unknown) + " not measured per run"] if unknown else [])
    head = f"runs of {variant} disagree ±{spread_pct:.1f} %: "
    if not moved:
        head += f"nothing measured moved beyond ±{MOVED_PCT:g} %; "
    return head + "; ".join(parts)


def spread_attribution(
    spreads: Mapping[str, float], runs: RunFigures, limit_pct: float
) -> list[str]:
    """One sentence per variant whose spread is above ``limit_pct`` and whose runs are known."""
    return [
        attribute(variant, spread, [run for _, run in sorted(runs[variant].items())])
        for variant, spread in spreads.items()
        if spread > limit_pct and len(runs.get(variant, {})) >= 2
    ]
