"""What a report shows, read from the controller: the selected runs' results, and per job its
raw samples and GPU telemetry (streamed, job by job)."""

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from arena.client.api import ArenaClient
from arena.client.filters import SCAN_RUNS
from arena.common.analysis.selection import contains
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.results import RunResults
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading

Progress = Callable[[str], None]
PARALLEL_RUNS = 4
"""Runs fetched at a time (the gRPC channel is shared; the controller answers concurrently)."""


class Selection(ArenaModel):
    """Which results: these runs (all recent runs when none), narrowed by name substrings."""

    run_ids: list[str] = []
    model: str | None = None
    hardware: str | None = None
    benchmark: str | None = None

    def describe(self) -> str:
        parts = [
            f"runs {', '.join(self.run_ids)}" if self.run_ids else f"the last {SCAN_RUNS} runs"
        ]
        for name in ("model", "hardware", "benchmark"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name} contains {value!r}")
        return "; ".join(parts)


class ReportData(ArenaModel):
    selection: Selection
    results: list[RunResults]
    samples: dict[str, list[RequestSample]]
    """Per job id, its current attempt's samples of the selected benchmarks."""
    telemetry: dict[str, list[GpuReading]]
    """Per job id, its GPU readings (measured jobs; imported ones carry theirs in results)."""
    suites: dict[str, tuple[str, str]] = {}
    """Per run id of a submitted run, its suite file's name and text, verbatim."""


def narrow(run: RunResults, selection: Selection) -> RunResults:
    """The run with only the jobs and benchmarks the selection names."""
    jobs = [
        job.model_copy(
            update={
                "benchmarks": [b for b in job.benchmarks if contains(b.id, selection.benchmark)]
            }
        )
        for job in run.jobs
        if contains(job.model, selection.model) and contains(job.hardware, selection.hardware)
    ]
    return run.model_copy(update={"jobs": [job for job in jobs if job.benchmarks]})


def fetch(
    client: ArenaClient, selection: Selection, progress: Progress | None = None
) -> ReportData:
    """Results, samples and telemetry of the selected runs, in the order asked (several runs
    at a time: the controller's work for one overlaps this side's decoding of another);
    ``progress`` hears of each run in that order."""
    say = progress or (lambda _: None)
    run_ids: Sequence[str] = selection.run_ids or [r.run_id for r in client.runs(SCAN_RUNS)]
    found: list[_Fetched] = []
    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        fetching = pool.map(lambda run_id: _fetch_run(client, run_id, selection), run_ids)
        for number, fetched in enumerate(fetching, start=1):
            say(f"[{number}/{len(run_ids)}] {fetched.run.run_id}: {len(fetched.run.jobs)} job(s)")
            if fetched.run.jobs:
                found.append(fetched)
    return ReportData(
        selection=selection,
        results=[f.run for f in found],
        samples={job: samples for f in found for job, samples in f.samples.items()},
        telemetry={job: readings for f in found for job, readings in f.telemetry.items()},
        suites={f.run.run_id: f.suite for f in found if f.suite is not None},
    )


class _Fetched(NamedTuple):
    run: RunResults
    samples: dict[str, list[RequestSample]]
    telemetry: dict[str, list[GpuReading]]
    suite: tuple[str, str] | None


def _fetch_run(client: ArenaClient, run_id: str, selection: Selection) -> _Fetched:
    run = narrow(client.results(run_id), selection)
    samples: dict[str, list[RequestSample]] = defaultdict(list)
    telemetry: dict[str, list[GpuReading]] = defaultdict(list)
    if not run.jobs:
        return _Fetched(run, {}, {}, None)
    wanted = {(job.job_id, bench.id) for job in run.jobs for bench in job.benchmarks}
    for job_id, sample in client.samples(run_id=run_id):
        if (job_id, sample.benchmark) in wanted:
            samples[job_id].append(sample)
    measured = {job.job_id for job in run.jobs if job.origin.kind == "measured"}
    suite = None
    if measured:
        for job_id, reading in client.telemetry(run_id=run_id):
            if job_id in measured:
                telemetry[job_id].append(reading)
        detail = client.run(run_id)
        if detail.suite_yaml is not None:
            suite = (detail.suite_file or "suite.yaml", detail.suite_yaml)
    return _Fetched(run, dict(samples), dict(telemetry), suite)
