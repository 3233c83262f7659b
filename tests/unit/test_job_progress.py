"""A heartbeat's job progress is one schema (JobProgress), carried by the one wire converter
from the agent to the controller's store and on to arenactl and the dashboard."""

import math
from typing import Any

from arena.client.render import progress_line
from arena.common.metrics.reports import progress_problem
from arena.common.pb.arena.v2 import agent_pb2, common_pb2, user_pb2
from arena.common.schemas.job import JobInfo, JobProgress, JobState
from arena.common.schemas.run import RunDetail, RunInfo, RunState
from arena.common.wire import from_message, get_field, set_field, to_message
from arena.controller.store.jobs import progress_of, stored_progress
from arena.controller.store.models import JobRow

REPORT = JobProgress(
    job_id="job-1",
    attempt=2,
    benchmark="chat",
    variant="pp16/tg8/d0/c2",
    run=1,
    requests_done=5,
    requests_total=8,
    errors=1,
    output_tokens_per_s=123.4,
    elapsed_s=130.0,
    remaining_s=78.0,
    benchmark_elapsed_s=40.0,
    benchmark_remaining_s=24.0,
    completed_benchmarks={"warm-up": 12},
)


def test_a_heartbeat_carries_the_report_field_for_field() -> None:
    request = agent_pb2.HeartbeatRequest(agent_id="agent-1")
    set_field(request, "running", [REPORT])
    [sent] = request.running
    assert (sent.job_id, sent.attempt, sent.variant, sent.errors) == ("job-1", 2, REPORT.variant, 1)
    assert from_message(sent, JobProgress) == REPORT


def test_the_job_row_keeps_the_report_as_before_and_reads_it_back() -> None:
    stored = stored_progress(REPORT)
    assert list(stored) == [  # the row's JSON, as heartbeats stored it before the schema
        "benchmark",
        "variant",
        "run",
        "requests_done",
        "requests_total",
        "errors",
        "output_tokens_per_s",
        "elapsed_s",
        "remaining_s",
        "benchmark_elapsed_s",
        "benchmark_remaining_s",
        "completed_benchmarks",
    ]
    assert progress_of(_row("job-1", 2, stored)) == REPORT
    assert progress_of(_row("job-2", 0, {})) is None


def test_a_job_summary_carries_its_progress_or_none() -> None:
    job = _job(REPORT)
    summary = user_pb2.JobSummary(job_id=job.job_id)
    set_field(summary, "progress", job.progress)
    assert get_field(summary, "progress", JobProgress | None) == REPORT.model_dump()
    empty = user_pb2.JobSummary(job_id=job.job_id)
    set_field(empty, "progress", None)
    assert not empty.HasField("progress")
    assert get_field(empty, "progress", JobProgress | None) is None


def test_impossible_progress_names_its_field() -> None:
    assert progress_problem(REPORT) is None
    bad = REPORT.model_copy(update={"requests_done": -3})
    assert progress_problem(bad) == "progress requests_done is -3"
    nan = REPORT.model_copy(update={"output_tokens_per_s": math.nan})
    assert progress_problem(nan) == "progress output_tokens_per_s is nan"
    assert to_message(nan, common_pb2.JobProgress).output_tokens_per_s != 0  # sent as is
    negative = REPORT.model_copy(update={"remaining_s": -1.0})
    assert progress_problem(negative) == "progress remaining_s is -1.0"
    endless = REPORT.model_copy(update={"benchmark_remaining_s": math.inf})
    assert progress_problem(endless) == "progress benchmark_remaining_s is inf"
    backwards = REPORT.model_copy(update={"completed_benchmarks": {"chat": -1}})
    assert progress_problem(backwards) == "progress completed_benchmarks is {'chat': -1}"


def test_arenactl_shows_the_report_or_what_the_store_holds() -> None:
    detail = RunDetail(run=_run(), jobs=[_job(REPORT), _job(None)], notes=[])
    assert progress_line(detail) == (
        "run-1 running: job-1 running chat pp16/tg8/d0/c2 run 2 5/8 req 123 tok/s 1 err"
        " 2m10s, ~1m18s left (chat ~24s) | job-1 running  3/8 req 0 tok/s 0 err"
    )
    unknown = REPORT.model_copy(update={"remaining_s": None, "benchmark_remaining_s": None})
    assert progress_line(RunDetail(run=_run(), jobs=[_job(unknown)], notes=[])).endswith(
        "1 err 2m10s"
    )


def _job(progress: JobProgress | None) -> JobInfo:
    return JobInfo(
        job_id="job-1",
        target="box",
        model="tiny",
        engine="simulated",
        state=JobState.RUNNING,
        attempt=2,
        agent="agent-1",
        message="",
        samples=3,
        requests_expected=8,
        progress=progress,
        simulated=True,
    )


def _row(job_id: str, attempt: int, progress: dict[str, Any]) -> JobRow:
    return JobRow(
        id=job_id,
        run_id="run-1",
        target="box",
        model="tiny",
        engine_runtime="simulated",
        spec={},
        selector={},
        state=JobState.RUNNING.value,
        attempt=attempt,
        progress=progress,
        created_at=0.0,
    )


def _run() -> RunInfo:
    return RunInfo(
        run_id="run-1",
        suite="s",
        state=RunState.RUNNING,
        created_at_unix=0.0,
        jobs_total=2,
        jobs_done=0,
        samples=3,
    )
