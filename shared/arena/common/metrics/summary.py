"""Aggregate repeated runs into mean ± std, and name the headline numbers of each benchmark kind.

The std is the *population* standard deviation (``np.std``, ddof = 0), which is what
llama-benchy prints after its "±". ``summarize`` treats each run as one observation.
llama-benchy itself pools per-request values (ttfr, est_ppt, e2e_ttft and the "(req)" speeds)
over every request of every run before taking mean ± std; ``summarize_closed_loop`` reproduces
that exactly, so its "±" matches the tool's tables.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from arena.common.metrics.closed_loop import BATCH_METRICS, batch_values, request_values
from arena.common.schemas.sample import RequestSample
from arena.common.stats import MeanStd

Kind = Literal["open_loop", "closed_loop"]


def summarize(runs: Sequence[Mapping[str, float | None]]) -> dict[str, MeanStd]:
    """Mean ± population std of each metric over the runs that have a value for it."""
    keys = dict.fromkeys(key for run in runs for key in run)
    summary: dict[str, MeanStd] = {}
    for key in keys:
        values = [v for run in runs if (v := run.get(key)) is not None]
        if values:
            summary[key] = MeanStd.of(values)
    return summary


def summarize_closed_loop(
    runs: Sequence[Sequence[RequestSample]],
    *,
    concurrency: int,
    expected_prompt_tokens: int | None = None,
) -> dict[str, MeanStd]:
    """llama-benchy's own aggregation of one variant's runs (one batch per run).

    Per-request values are pooled across runs; batch throughputs give one value per run when
    c > 1, and with c = 1 the "total" columns repeat the per-request ones.
    """
    pooled: dict[str, list[float]] = {}
    per_batch: dict[str, list[float]] = {key: [] for key in BATCH_METRICS}
    for samples in runs:
        for key, values in request_values(samples, expected_prompt_tokens).items():
            pooled.setdefault(key, []).extend(values)
        for key, value in batch_values(samples, expected_prompt_tokens).items():
            if value is not None:
                per_batch[key].append(value)
    if concurrency == 1:
        per_batch["pp_throughput"] = pooled.get("pp_req_throughput", [])
        per_batch["tg_throughput"] = pooled.get("tg_req_throughput", [])
    return {key: MeanStd.of(values) for key, values in (pooled | per_batch).items() if values}


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    unit: str


HEADLINE: dict[Kind, tuple[Headline, ...]] = {
    "open_loop": (
        Headline("completed", "done", "req"),
        Headline("request_throughput", "req/s", "req/s"),
        Headline("output_throughput", "out tok/s", "tok/s"),
        Headline("median_ttft_ms", "TTFT p50", "ms"),
        Headline("p99_ttft_ms", "TTFT p99", "ms"),
        Headline("median_tpot_ms", "TPOT p50", "ms"),
        Headline("median_itl_ms", "ITL p50", "ms"),
        Headline("median_e2el_ms", "E2EL p50", "ms"),
        Headline("max_concurrent_requests", "max conc", "req"),
    ),
    "closed_loop": (
        Headline("pp_throughput", "pp t/s", "tok/s"),
        Headline("tg_throughput", "tg t/s", "tok/s"),
        Headline("tg_req_throughput", "tg t/s (req)", "tok/s"),
        Headline("peak_throughput", "peak t/s", "tok/s"),
        Headline("ttfr", "ttfr", "ms"),
        Headline("est_ppt", "est_ppt", "ms"),
        Headline("e2e_ttft", "e2e_ttft", "ms"),
    ),
}
"""Ordered headline metrics per benchmark kind, for ``arenactl show``."""
