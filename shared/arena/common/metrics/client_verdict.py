"""Whether the client, not the server, may have shaped a run's numbers: its limits, defined once.

A run is ``client_saturated`` when any of its client figures crosses its limit:

- ``p99_send_lag_ms`` > 1 ms: requests left later than scheduled (open loop and sessions; a
  closed loop has no schedule);
- ``loop_lag_p99_ms`` > 1 ms: the client's event loop woke late often enough that reads, and
  so TTFT and the gaps between tokens, were stamped late (every kind);
- ``read_stall_ttft_p99_pct`` > 2 %: in more than 1 % of requests a loop stall between the
  send and the first token was over 2 % of that request's TTFT, so its TTFT includes the
  client's delay beyond the methodology's ±2 % band (every kind). Relative, because a stall
  matters by what it is added to: on an H100 box (16 cores) under ``arenactl bench`` (whose
  embedded controller shares the agent's loop) closed-loop batches' reads were stalled by up
  to 2.4–4.7 ms against TTFTs of 100–540 ms, 0.7–0.9 % of them, which an absolute 1 ms limit
  called saturated; ``read_stall_p99_ms`` is shown beside;
- ``client_cpu_util`` > 90 %: the busiest client process had no time to spare.

Loop lag and read stalls are the part of a timer's overshoot beyond the 1 ms asyncio's selector
may add to a loop that is not stalled at all (``loop_lag.SELECTOR_GRANULARITY_S``): on a quiet
client most ticks overshoot by 0.1–1 ms for that reason alone, which no read waits on, so a
limit on the raw overshoot called every quiet run saturated. 1 ms beyond it is a stall as long
as the send-lag limit allows a late send, the same tolerance on every clock the client keeps.
bench/client_honesty.py shows the raw overshoot, the verdict and its reasons on quiet runs and
on runs whose loop is blocked on purpose (``--stall-ms``).

What each kind is judged on: open and closed loops on every figure above (a closed loop has no
send lag). Session steps on send lag and read stalls (both from the samples, which a session
export carries) and CPU share, but NOT on loop lag: a session export carries each run's CPU
figure only (``client_load.cpu_utils_of``) and a step's metrics must re-derive exactly from
its export, so the controller derives them from the same figures; a loop stall that delayed a
first token still shows as a read stall.

Per run the figures sit beside the run's other metrics; per variant, the run that crossed its
limits furthest is named (``client_worst_run``) with its values (``worst_run_<key>``), so a
warning quotes the values that crossed the limits, never a mean of runs below them.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arena.common.metrics.client_load import RunClientFigures, read_stall_p99_ms
from arena.common.schemas.sample import RequestSample

if TYPE_CHECKING:  # NumPy: validity (read by listings) imports this module
    from arena.common.stats import MeanStd


@dataclass(frozen=True)
class Limit:
    key: str
    """The run metric it judges."""
    limit: float
    shown: str
    """How a warning quotes a value (a format with one field)."""
    limit_shown: str


LIMITS = (
    Limit("p99_send_lag_ms", 1.0, "p99 send lag {:.2f} ms", "1 ms"),
    Limit("loop_lag_p99_ms", 1.0, "event-loop lag p99 {:.2f} ms", "1 ms"),
    Limit("read_stall_ttft_p99_pct", 2.0, "read stalls p99 {:.1f} % of TTFT", "2 %"),
    Limit("client_cpu_util", 0.9, "busiest client core {:.0%} busy", "90 %"),
)
CLIENT_KEYS = (
    "loop_lag_p99_ms",
    "loop_lag_max_ms",
    "read_stall_p99_ms",
    "read_stall_ttft_p99_pct",
    "client_headroom_used_pct",
    "client_cpu_util",
    "client_saturated",
)
"""The run keys every kind carries (send lag is the schedule's, in ``open_loop.client_side``)."""
WORST_RUN = "client_worst_run"


def worst_key(key: str) -> str:
    return f"worst_run_{key}"


REPORTED_KEYS = (*CLIENT_KEYS, WORST_RUN, *(worst_key(limit.key) for limit in LIMITS))
"""Every variant-level client key: what an export carries where its format has no place of
its own for them (a closed loop's llama-benchy report)."""


def limit_of(key: str) -> float:
    """The limit on one run metric (the agent's headroom search uses the verdict's own)."""
    return next(limit.limit for limit in LIMITS if limit.key == key)


def crossed(metrics: Mapping[str, float | None]) -> list[tuple[Limit, float]]:
    """The limits a run's figures cross, with the values that crossed them."""
    return [
        (limit, value)
        for limit in LIMITS
        if (value := metrics.get(limit.key)) is not None and value > limit.limit
    ]


def client_saturated(metrics: Mapping[str, float | None]) -> bool:
    return bool(crossed(metrics))


def client_run_metrics(
    samples: Sequence[RequestSample], figures: RunClientFigures | None
) -> dict[str, float | None]:
    """A run's client keys (``CLIENT_KEYS`` but the verdict) from the agent's figures and the
    samples' read stalls."""
    known = figures or RunClientFigures()
    stall = read_stall_p99_ms([sample.read_stall_s for sample in samples])
    return {
        "loop_lag_p99_ms": known.loop_lag_p99_ms,
        "loop_lag_max_ms": known.loop_lag_max_ms,
        "read_stall_p99_ms": stall if stall is not None else known.read_stall_p99_ms,
        "read_stall_ttft_p99_pct": read_stall_ttft_p99_pct(samples),
        "client_headroom_used_pct": known.headroom_used_pct,
        "client_cpu_util": known.cpu_util,
    }


def read_stall_ttft_p99_pct(samples: Sequence[RequestSample]) -> float | None:
    """p99 over a run's requests of their read stall as a share of their TTFT, in %: how much
    of what was measured the client itself may have added (None when no stall was measured)."""
    from arena.common import stats  # NumPy: validity (read by listings) imports this module

    shares = [
        sample.read_stall_s / ttft * 100
        for sample in samples
        if sample.read_stall_s is not None
        and sample.first_token_s is not None
        and (ttft := sample.first_token_s - sample.sent_s) > 0
    ]
    return stats.percentile(shares, 99) if shares else None


def with_verdict(metrics: dict[str, float | None]) -> dict[str, float | None]:
    """``metrics`` with ``client_saturated`` (1.0/0.0) set from its own figures; None where
    none was measured (a closed loop of an older agent): no verdict without evidence."""
    measured = any(metrics.get(limit.key) is not None for limit in LIMITS)
    metrics["client_saturated"] = (1.0 if client_saturated(metrics) else 0.0) if measured else None
    return metrics


def _excess(metrics: Mapping[str, float | None]) -> float:
    """How far past its limits a run went: the largest value / limit (0 without figures)."""
    return max(
        (value / limit.limit for limit in LIMITS if (value := metrics.get(limit.key)) is not None),
        default=0.0,
    )


def worst_run(
    per_run: Sequence[Mapping[str, float | None]], run_numbers: Sequence[int]
) -> dict[str, "MeanStd"]:
    """The run that went furthest past the limits, and its figures; empty when no run crossed
    one (then there is nothing to name)."""
    from arena.common.stats import MeanStd

    saturated = [
        (number, metrics)
        for number, metrics in zip(run_numbers, per_run, strict=True)
        if client_saturated(metrics)
    ]
    if not saturated:
        return {}
    number, metrics = max(saturated, key=lambda item: _excess(item[1]))
    found = {WORST_RUN: MeanStd(float(number), 0.0, 1)}
    for limit in LIMITS:
        if (value := metrics.get(limit.key)) is not None:
            found[worst_key(limit.key)] = MeanStd(value, 0.0, 1)
    return found


def client_means(per_run: Sequence[Mapping[str, float | None]]) -> dict[str, "MeanStd"]:
    """Mean ± std over runs of the client keys (for a closed loop, whose other numbers are
    pooled over requests)."""
    from arena.common.stats import MeanStd

    means = {}
    for key in CLIENT_KEYS:
        values = [value for metrics in per_run if (value := metrics.get(key)) is not None]
        if values:
            means[key] = MeanStd.of(values)
    return means


def warning_evidence(
    runs_saturated: float, runs: int, worst: Mapping[str, float | None]
) -> str | None:
    """The words a warning or an invalid flag quotes: how many runs, the worst run, and each
    of its values past its limit; None when the variant is not saturated."""
    if not runs_saturated:
        return None
    count = round(runs_saturated * runs) if runs else 0
    share = f"{count} of {runs} runs" if runs else "flagged"
    run = worst.get(WORST_RUN)
    if run is None:  # an older result: no worst run stored
        return share
    past = [
        f"{limit.shown.format(value)} > {limit.limit_shown}"
        for limit in LIMITS
        if (value := worst.get(worst_key(limit.key))) is not None and value > limit.limit
    ]
    if not past:  # judged by a rule this code no longer has (an import of older results)
        return f"{share}; worst run {run:.0f}"
    return f"{share}; worst run {run:.0f}: " + ", ".join(past)
