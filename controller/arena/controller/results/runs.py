"""A run's results as users read them: the stored metrics of each job, judged (validity,
spread, flags) against the operator's error-rate gate at the time they are read. A job whose
metrics are still being computed (``finishing``) says so in its benchmarks' flags."""

from collections import Counter
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from arena.common.analysis.agents import judged_capacity
from arena.common.analysis.pareto import gpu_count
from arena.common.metrics.attribution import client_figures
from arena.common.metrics.client_load import KEY as CLIENT_LOAD
from arena.common.metrics.client_load import stored_at
from arena.common.metrics.completion import PARTIAL_FLAG
from arena.common.metrics.derive import measured_variants
from arena.common.metrics.prompt_lengths import approximate_flag
from arena.common.metrics.validity import MAX_ERROR_RATE, SPREAD_METRIC, assess, spread_pct
from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.job import JobState
from arena.common.schemas.results import (
    BenchmarkResult,
    JobResult,
    MetricStat,
    RunResults,
    VariantResult,
)
from arena.common.schemas.run import RunState
from arena.common.schemas.suite import ClosedLoopBenchmark, SessionBenchmark
from arena.common.schemas.telemetry import TelemetryStatus
from arena.controller.results.imported import imported_job_result
from arena.controller.store.aggregates import is_pending
from arena.controller.store.imports import imports_of
from arena.controller.store.models import SUMMARY_RUN, AgentRow, AggregateRow, JobRow
from arena.controller.store.runs import (
    agent_names,
    is_simulated_job,
    jobs_of,
    request_counts,
    run_row,
)
from arena.controller.store.specs import UnsendableJob, stored_spec
from arena.controller.store.telemetry import energy_of
from arena.controller.store.tools import tool_results_of

_SHOWN_APART = ("engine_metrics", "hardware", "telemetry")
"""Provenance keys the results view shows in their own fields."""


AGGREGATING = "aggregating: its metrics are being computed"
"""The flag of a benchmark whose job has succeeded and whose metrics are not stored yet."""


def aggregating(results: RunResults) -> bool:
    """Whether a job of the run has succeeded and its metrics are still being computed: the
    run is over, its results are not complete yet."""
    return any(AGGREGATING in bench.flags for job in results.jobs for bench in job.benchmarks)


def _hardware(job: JobRow, agent: AgentRow | None) -> HardwareInfo | None:
    """The fingerprint stored when the job finished, else the agent's current one."""
    stored = _mapping(job.provenance.get("hardware")) or (agent.hardware if agent else None)
    try:
        return HardwareInfo.model_validate(stored) if stored else None
    except ValidationError:  # a malformed fingerprint: the job's results are still readable
        return None


def _telemetry_text(job: JobRow) -> str:
    status = _mapping(job.provenance.get("telemetry"))
    try:
        return TelemetryStatus.model_validate(status).text if status else ""
    except ValidationError:
        return ""


def _mapping(value: Any) -> dict[str, Any]:
    """A provenance entry that should be a mapping, or an empty one where it is not (a
    malformed provenance reads as not recorded rather than crashing ``show``)."""
    return value if isinstance(value, dict) else {}


def _run_figures(row: AggregateRow, provenance: dict[str, Any]) -> dict[str, float | None]:
    """A run's stored metrics with its client figures from provenance where the metrics lack
    them (``metrics.attribution`` reads both)."""
    client = client_figures(
        stored_at(provenance, CLIENT_LOAD, row.benchmark, row.variant, str(row.run))
    )
    numbers = {k: float(v) for k, v in row.metrics.items() if isinstance(v, int | float)}
    return {**client, **numbers}


def run_results(
    session: Session,
    run_id: str,
    max_error_rate: float = MAX_ERROR_RATE,
    accept_saturated_clients: bool = False,
) -> RunResults:
    run = run_row(session, run_id)
    rows = jobs_of(session, run_id)
    agents = agent_names(session, {job.agent_id for job in rows if job.agent_id})
    imports = imports_of(session, [job.id for job in rows])
    jobs = []
    for job in rows:
        if (stored := imports.get(job.id)) is not None:
            jobs.append(
                imported_job_result(session, job, stored, max_error_rate, accept_saturated_clients)
            )
            continue
        try:
            listed = stored_spec(job.spec).benchmarks
        except UnsendableJob:  # its message says why; no benchmark of it can be read
            listed = []
        summaries: dict[tuple[str, str], AggregateRow] = {}
        run_counts: Counter[tuple[str, str]] = Counter()
        per_run: dict[tuple[str, str], list[float]] = {}
        run_figures: dict[str, dict[str, dict[int, dict[str, float | None]]]] = {}
        for row in session.exec(select(AggregateRow).where(AggregateRow.job_id == job.id)):
            if row.run == SUMMARY_RUN:
                summaries[(row.benchmark, row.variant)] = row
                continue
            run_figures.setdefault(row.benchmark, {}).setdefault(row.variant, {})[row.run] = (
                _run_figures(row, job.provenance)
            )
            run_counts[(row.benchmark, row.variant)] += 1
            value = row.metrics.get(SPREAD_METRIC.get(row.kind, ""))
            if isinstance(value, int | float):
                per_run.setdefault((row.benchmark, row.variant), []).append(float(value))
        requests = request_counts(session, job)
        pending = is_pending(job)
        benchmarks = []
        engine_metrics = _mapping(job.provenance.get("engine_metrics"))
        tool_results = tool_results_of(session, job)
        energy = energy_of(session, job.id)
        hardware = _hardware(job, agents.get(job.agent_id or ""))
        approximate = approximate_flag(job.provenance)
        for bench in listed:
            aggregated = {variant for (benchmark, variant) in summaries if benchmark == bench.id}
            found = [
                VariantResult(
                    key=variant.key,
                    runs=run_counts[(bench.id, variant.key)],
                    metrics={key: MetricStat(**stat) for key, stat in summary.metrics.items()},
                    spread_pct=spread_pct(per_run.get((bench.id, variant.key), [])),
                )
                for variant in measured_variants(bench, aggregated)
                if (summary := summaries.get((bench.id, variant.key))) is not None
            ]
            result = BenchmarkResult(
                id=bench.id,
                title=bench.title,
                kind=bench.kind,
                variants=found,
                engine_metrics=_mapping(engine_metrics.get(bench.id)),
                tool=bench.tool,
                command=tool.command if (tool := tool_results.get(bench.id)) else "",
                tool_metrics={
                    variant: {key: MetricStat(**stat) for key, stat in stats.items()}
                    for variant, stats in (tool.metrics if tool else {}).items()
                },
                energy=energy.get(bench.id),
                prefix_cache=bench.prefix_cache,
                exact_tg=isinstance(bench, ClosedLoopBenchmark) and bench.exact_tg,
                partial=bool(found) and job.state in (JobState.FAILED, JobState.CANCELLED),
            )
            benchmarks.append(
                assess(
                    result,
                    max_error_rate,
                    requests.get(bench.id),
                    accept_saturated_clients or bench.accept_saturated_client,
                    runs=run_figures.get(bench.id, {}),
                )
            )
            if result.partial:
                result.flags.insert(0, PARTIAL_FLAG.format(state=job.state))
            if approximate is not None and result.variants:
                result.flags.append(approximate)
            if isinstance(bench, SessionBenchmark):
                result.agent_capacity = judged_capacity(
                    bench, result, gpu_count(hardware, result.energy, cpu_only=None)
                )
            if pending:
                result.flags.insert(0, AGGREGATING)
        agent = agents.get(job.agent_id or "")
        jobs.append(
            JobResult(
                job_id=job.id,
                target=job.target,
                model=job.model,
                engine=job.engine_runtime,
                agent=agent.name if agent else None,
                hardware=hardware.summary if hardware else None,
                simulated=is_simulated_job(job),
                state=job.state,
                message=job.message,
                benchmarks=benchmarks,
                provenance={k: v for k, v in job.provenance.items() if k not in _SHOWN_APART},
                hardware_detail=hardware,
                telemetry=_telemetry_text(job),
                tier=job.tier or "",
                flags=job.flags,
            )
        )
    return RunResults(
        run_id=run_id,
        suite=run.suite_name,
        state=RunState.of(job.state for job in rows),
        notes=run.notes,
        jobs=jobs,
    )
