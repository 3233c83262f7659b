"""Aggregate repeated runs into mean ± std (the headline metrics of each kind are the catalogue's
``HEADLINE``).

The std is the *population* standard deviation (``np.std``, ddof = 0), which is what
llama-benchy prints after its "±". ``summarize`` treats each run as one observation.
llama-benchy itself pools per-request values (ttfr, est_ppt, e2e_ttft and the "(req)" speeds)
over every request of every run before taking mean ± std; ``summarize_closed_loop`` reproduces
that exactly, so its "±" matches the tool's tables.
"""

from collections.abc import Mapping, Sequence

from arena.common.metrics.closed_loop import (
    BATCH_METRICS,
    batch_values,
    request_values,
    with_single_request_totals,
)
from arena.common.schemas.sample import RequestSample
from arena.common.stats import MeanStd


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
    empty: list[float] = []
    by_key = with_single_request_totals(pooled | per_batch, concurrency, empty)
    return {key: MeanStd.of(values) for key, values in by_key.items() if values}
