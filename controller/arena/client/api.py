"""The typed client of the user-facing service, used by arenactl and by the tests."""

import json
from typing import Any

import grpc

from arena.common.errors import ArenaError, AuthError, NotFoundError, UnavailableError
from arena.common.pb.arena.v1 import user_pb2, user_pb2_grpc
from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.imported import ImportedRun
from arena.common.schemas.job import JobInfo as JobInfo  # what the calls return, re-exported
from arena.common.schemas.results import RunResults
from arena.common.schemas.run import RunDetail as RunDetail
from arena.common.schemas.run import RunInfo as RunInfo
from arena.common.status import from_rpc_error, sent_by_arena

CALL_TIMEOUT_S = 30.0
JOB_SCAN_RUNS = 200
"""How many recent runs ``ArenaClient.job`` looks through for a job id."""


class AgentInfo(ArenaModel):
    agent_id: str
    name: str
    status: str
    hardware: HardwareInfo
    labels: dict[str, str]
    last_seen_unix: float
    draining: bool
    current_job: str


def _run(summary: user_pb2.RunSummary) -> RunInfo:
    return RunInfo(
        run_id=summary.run_id,
        suite=summary.suite,
        state=summary.state,
        created_at_unix=summary.created_at_unix,
        jobs_total=summary.jobs_total,
        jobs_done=summary.jobs_done,
        samples=summary.samples,
    )


def translate(error: grpc.RpcError, address: str) -> ArenaError:
    """The Arena error behind a failed call, with what a user needs to act on it."""
    translated = from_rpc_error(error)
    if isinstance(translated, UnavailableError) and not sent_by_arena(error):
        return UnavailableError(f"cannot reach the controller at {address}: {translated}")
    if isinstance(translated, AuthError):
        return AuthError(f"the controller refused the user token: {translated}")
    return translated


class ArenaClient:
    def __init__(self, address: str, token: str) -> None:
        self.address = address
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._channel = grpc.insecure_channel(address)
        self._stub = user_pb2_grpc.UserServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "ArenaClient":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, metadata=self._metadata, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            raise translate(error, self.address) from error

    def submit(self, suite_yaml: str, filename: str) -> tuple[str, list[str]]:
        reply = self._call(
            self._stub.SubmitSuite,
            user_pb2.SubmitSuiteRequest(suite_yaml=suite_yaml, filename=filename),
        )
        return reply.run_id, list(reply.job_ids)

    def runs(self, limit: int = 50) -> list[RunInfo]:
        reply = self._call(self._stub.ListRuns, user_pb2.ListRunsRequest(limit=limit))
        return [_run(summary) for summary in reply.runs]

    def run(self, run_id: str) -> RunDetail:
        reply = self._call(self._stub.GetRun, user_pb2.GetRunRequest(run_id=run_id))
        jobs = [
            JobInfo(
                job_id=job.job_id,
                target=job.target,
                model=job.model,
                engine=job.engine,
                state=job.state,
                attempt=job.attempt,
                agent=job.agent_name,
                message=job.message,
                samples=job.samples,
                requests_expected=job.requests_expected,
                progress=json.loads(job.progress_json or "{}"),
                simulated=job.simulated,
            )
            for job in reply.jobs
        ]
        return RunDetail(run=_run(reply.summary), jobs=jobs, notes=list(reply.notes))

    def results(self, run_id: str) -> RunResults:
        reply = self._call(self._stub.GetResults, user_pb2.GetRunRequest(run_id=run_id))
        return RunResults.model_validate_json(reply.results_json)

    def import_results(self, run: ImportedRun) -> tuple[str, bool]:
        """Store one imported run; returns its run id and whether it replaced an earlier one."""
        reply = self._call(
            self._stub.ImportResults,
            user_pb2.ImportResultsRequest(payload_json=run.model_dump_json()),
        )
        return reply.run_id, bool(reply.replaced)

    def cancel(self, run_id: str) -> int:
        reply = self._call(self._stub.CancelRun, user_pb2.CancelRunRequest(run_id=run_id))
        return int(reply.jobs_cancelled)

    def agents(self) -> list[AgentInfo]:
        reply = self._call(self._stub.ListAgents, user_pb2.ListAgentsRequest())
        return [
            AgentInfo(
                agent_id=agent.agent_id,
                name=agent.name,
                status=agent.status,
                hardware=HardwareInfo.model_validate_json(agent.hardware_json),
                labels=dict(agent.labels),
                last_seen_unix=agent.last_seen_unix,
                draining=agent.draining,
                current_job=agent.current_job,
            )
            for agent in reply.agents
        ]

    def job(self, job_id: str) -> tuple[str, JobInfo]:
        """The job and its run id, found among the most recent runs.

        The user service has no call for one job yet, so this scans ``JOB_SCAN_RUNS`` runs; it is
        the one place to change when such a call exists.
        """
        for summary in self.runs(JOB_SCAN_RUNS):
            for job in self.run(summary.run_id).jobs:
                if job.job_id == job_id:
                    return summary.run_id, job
        raise NotFoundError(f"no job {job_id!r} in the last {JOB_SCAN_RUNS} runs")

    def log_page(self, job_id: str) -> tuple[int, list[str]]:
        """Every engine log line of the job's current attempt, with that attempt's number."""
        reply = self._call(self._stub.GetJobLogs, user_pb2.GetJobLogsRequest(job_id=job_id))
        return int(reply.attempt), list(reply.lines)

    def logs(self, job_id: str, tail: int = 0) -> list[str]:
        reply = self._call(
            self._stub.GetJobLogs, user_pb2.GetJobLogsRequest(job_id=job_id, tail=tail)
        )
        return list(reply.lines)

    def drain(self, name: str) -> None:
        self._call(self._stub.DrainAgent, user_pb2.DrainAgentRequest(name=name))
