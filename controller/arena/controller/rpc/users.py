"""UserService: submit suites, follow runs, read results, cancel, list and drain agents."""

import json
import time
from pathlib import Path

import grpc
import structlog
from sqlmodel import Session

from arena.common.pb.arena.v1 import user_pb2, user_pb2_grpc
from arena.common.schemas.imported import ImportedRun
from arena.common.schemas.job import JobInfo
from arena.common.schemas.run import RunInfo
from arena.common.suites.loader import load_suite_text
from arena.controller.rpc.agents import WorkSignal
from arena.controller.rpc.errors import grpc_errors
from arena.controller.settings import ControllerSettings
from arena.controller.store import agents as agent_store
from arena.controller.store import imports as import_store
from arena.controller.store import jobs as job_store
from arena.controller.store import runs as run_store
from arena.controller.store.database import Database
from arena.controller.store.models import AgentRow

log = structlog.get_logger(__name__)

MAX_SUITE_BYTES = 1_000_000


class UserServicer(user_pb2_grpc.UserServiceServicer):
    def __init__(self, db: Database, settings: ControllerSettings, work: WorkSignal) -> None:
        self.db = db
        self.settings = settings
        self.work = work

    @grpc_errors
    async def SubmitSuite(
        self, request: user_pb2.SubmitSuiteRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.SubmitSuiteResponse:
        if len(request.suite_yaml.encode()) > MAX_SUITE_BYTES:
            raise ValueError(f"suite file larger than {MAX_SUITE_BYTES} bytes")
        filename = request.filename or "<suite>"
        base_dir = Path(filename).parent if Path(filename).is_absolute() else None
        resolved = load_suite_text(request.suite_yaml, filename, base_dir=base_dir)
        run_id, job_ids = await self.db.call(
            run_store.submit_run, resolved, request.suite_yaml, request.filename, time.time()
        )
        log.info("run submitted", run_id=run_id, suite=resolved.spec.name, jobs=len(job_ids))
        self.work.notify()
        return user_pb2.SubmitSuiteResponse(run_id=run_id, job_ids=job_ids)

    @grpc_errors
    async def ListRuns(
        self, request: user_pb2.ListRunsRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.ListRunsResponse:
        runs = await self.db.call(run_store.list_runs, request.limit or 50)
        return user_pb2.ListRunsResponse(runs=[_summary(run) for run in runs])

    @grpc_errors
    async def GetRun(
        self, request: user_pb2.GetRunRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.RunDetail:
        detail = await self.db.call(run_store.run_detail, request.run_id)
        return user_pb2.RunDetail(
            summary=_summary(detail.run),
            jobs=[_job(job) for job in detail.jobs],
            notes=detail.notes,
        )

    @grpc_errors
    async def GetResults(
        self, request: user_pb2.GetRunRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.RunResults:
        results = await self.db.call(
            run_store.run_results, request.run_id, self.settings.max_error_rate
        )
        run = await self.db.call(run_store.get_run, request.run_id)
        return user_pb2.RunResults(summary=_summary(run), results_json=results.model_dump_json())

    @grpc_errors
    async def ImportResults(
        self, request: user_pb2.ImportResultsRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.ImportResultsResponse:
        run = ImportedRun.model_validate_json(request.payload_json)
        run_id, replaced = await self.db.call(import_store.store_import, run, time.time())
        log.info("results imported", run_id=run_id, source=run.key, replaced=replaced)
        return user_pb2.ImportResultsResponse(run_id=run_id, replaced=replaced)

    @grpc_errors
    async def CancelRun(
        self, request: user_pb2.CancelRunRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.CancelRunResponse:
        cancelled = await self.db.call(run_store.cancel_run, request.run_id, time.time())
        log.info("run cancelled", run_id=request.run_id, jobs=cancelled)
        return user_pb2.CancelRunResponse(jobs_cancelled=cancelled)

    @grpc_errors
    async def ListAgents(
        self, request: user_pb2.ListAgentsRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.ListAgentsResponse:
        rows, current = await self.db.call(_agents_with_jobs)
        now = time.time()
        return user_pb2.ListAgentsResponse(
            agents=[
                user_pb2.AgentSummary(
                    agent_id=row.id,
                    name=row.name,
                    status=agent_store.agent_status(
                        row, now, self.settings.heartbeat_interval_s, self.settings.lease_ttl_s
                    ),
                    hardware_json=_json(row.hardware),
                    labels=row.labels,
                    last_seen_unix=row.last_seen_at,
                    draining=row.draining,
                    current_job=current.get(row.id, ""),
                )
                for row in rows
            ]
        )

    @grpc_errors
    async def GetJobLogs(
        self, request: user_pb2.GetJobLogsRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.JobLogs:
        attempt, lines = await self.db.call(job_store.job_logs, request.job_id, request.tail)
        return user_pb2.JobLogs(job_id=request.job_id, attempt=attempt, lines=lines)

    @grpc_errors
    async def DrainAgent(
        self, request: user_pb2.DrainAgentRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.DrainAgentResponse:
        await self.db.call(agent_store.set_draining, request.name)
        log.info("agent draining", agent=request.name)
        return user_pb2.DrainAgentResponse()


def _summary(run: RunInfo) -> user_pb2.RunSummary:
    return user_pb2.RunSummary(**run.model_dump())


def _job(job: JobInfo) -> user_pb2.JobSummary:
    fields = job.model_dump(exclude={"agent", "progress"})
    return user_pb2.JobSummary(agent_name=job.agent, progress_json=_json(job.progress), **fields)


def _agents_with_jobs(session: Session) -> tuple[list[AgentRow], dict[str, str]]:
    rows = agent_store.list_agents(session)
    current = {}
    for row in rows:
        job = job_store.current_job_of(session, row.id)
        if job is not None:
            current[row.id] = job.id
    return rows, current


def _json(value: object) -> str:
    return json.dumps(value)
