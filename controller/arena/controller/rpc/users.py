"""UserService: submit suites, follow runs, read results, cancel, list and drain agents."""

import json
import time
from pathlib import Path

import grpc
import structlog
from sqlmodel import Session

from arena.common.errors import InvalidRequestError
from arena.common.pb.arena.v1 import user_pb2, user_pb2_grpc
from arena.common.schemas.imported import ImportedRun
from arena.common.schemas.job import JobSpec, JobState
from arena.common.suites.loader import load_suite_text
from arena.controller.expand import is_simulated
from arena.controller.rpc.agents import WorkSignal
from arena.controller.rpc.errors import grpc_errors, reading
from arena.controller.settings import ControllerSettings
from arena.controller.store import agents as agent_store
from arena.controller.store import imports as import_store
from arena.controller.store import jobs as job_store
from arena.controller.store import runs as run_store
from arena.controller.store.database import Database
from arena.controller.store.imports import is_imported
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
            raise InvalidRequestError(f"suite file larger than {MAX_SUITE_BYTES} bytes")
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
        views = await self.db.call(run_store.list_runs, request.limit or 50)
        return user_pb2.ListRunsResponse(runs=[_summary(view) for view in views])

    @grpc_errors
    async def GetRun(
        self, request: user_pb2.GetRunRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.RunDetail:
        view, agents = await self.db.call(_run_with_agents, request.run_id)
        jobs = []
        for job in view.jobs:
            agent = agents.get(job.agent_id or "")
            jobs.append(
                user_pb2.JobSummary(
                    job_id=job.id,
                    target=job.target,
                    model=job.model,
                    engine=job.engine_runtime,
                    state=job.state,
                    attempt=job.attempt,
                    agent_name=agent.name if agent else "",
                    message=job.message,
                    samples=job.acked_seq,
                    requests_expected=job.requests_expected,
                    progress_json=_json(job.progress),
                    simulated=not is_imported(job)
                    and is_simulated(JobSpec.model_validate(job.spec)),
                )
            )
        return user_pb2.RunDetail(summary=_summary(view), jobs=jobs, notes=view.run.notes)

    @grpc_errors
    async def GetResults(
        self, request: user_pb2.GetRunRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.RunResults:
        results = await self.db.call(run_store.run_results, request.run_id)
        view = await self.db.call(run_store.get_run, request.run_id)
        return user_pb2.RunResults(summary=_summary(view), results_json=results.model_dump_json())

    @grpc_errors
    async def ImportResults(
        self, request: user_pb2.ImportResultsRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.ImportResultsResponse:
        with reading("payload_json"):
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


def _summary(view: run_store.RunView) -> user_pb2.RunSummary:
    return user_pb2.RunSummary(
        run_id=view.run.id,
        suite=view.run.suite_name,
        state=view.state,
        created_at_unix=view.run.created_at,
        jobs_total=len(view.jobs),
        jobs_done=sum(1 for job in view.jobs if JobState(job.state).terminal),
        samples=view.samples,
    )


def _run_with_agents(
    session: Session, run_id: str
) -> tuple[run_store.RunView, dict[str, AgentRow]]:
    view = run_store.get_run(session, run_id)
    return view, run_store.agent_names(session, {j.agent_id for j in view.jobs if j.agent_id})


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
