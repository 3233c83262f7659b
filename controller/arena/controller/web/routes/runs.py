"""Agents, runs and one run's page: live progress from JSON endpoints the pages poll, results
and throughput charts once stored."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from arena.common.analysis.agent_capacity import agent_capacity_rows
from arena.common.analysis.cache import cache_rows
from arena.common.errors import PermissionDeniedError
from arena.common.schemas.run import RunDetail, RunInfo
from arena.controller.results.runs import aggregating
from arena.controller.rpc.audit import refused
from arena.controller.store import owners
from arena.controller.store.credentials import Principal
from arena.controller.web.auth import submitter
from arena.controller.web.figures import agentic_figures, run_figures
from arena.controller.web.reads import Reader
from arena.controller.web.templating import reader, templates

router = APIRouter()
Store = Annotated[Reader, Depends(reader)]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/runs")


@router.get("/agents", response_class=HTMLResponse)
def agents_page(request: Request, store: Store) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "agents.html", {"agents": store.agents(), "page": "agents"}
    )


@router.get("/api/agents")
def agents_api(store: Store) -> list[dict[str, Any]]:
    return [
        {**agent.model_dump(mode="json", exclude={"key_sha256"}), "summary": agent.hardware.summary}
        for agent in store.agents()
    ]


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, store: Store, limit: Limit = 100) -> HTMLResponse:
    runs = store.labelled_runs(limit)
    context = {
        "runs": [run.info for run in runs],
        "labels": {run.info.run_id: run.labels for run in runs},
        "limit": limit,
        "page": "runs",
    }
    return templates.TemplateResponse(request, "runs.html", context)


@router.get("/api/runs")
def runs_api(store: Store, limit: Limit = 100) -> list[RunInfo]:
    return store.runs(limit)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str, store: Store) -> HTMLResponse:
    detail, results = store.run(run_id), store.results(run_id)
    figures = store.view(
        ("run-figures", run_id), lambda _: run_figures(results, store.records(run_id))
    )
    agentic = store.view(("agentic-figures", run_id), lambda _: agentic_figures(results))
    context = {
        "detail": detail,
        "results": results,
        "job_tags": {
            job.job_id: [job.origin.kind] for job in results.jobs if job.origin.kind != "measured"
        },
        "figures": figures,
        "agentic_figures": agentic,
        "agent_capacity": agent_capacity_rows([results]),
        "cache": cache_rows([results]),
        "aggregating": aggregating(results),
        "page": "runs",
    }
    return templates.TemplateResponse(request, "run.html", context)


@router.get("/api/runs/{run_id}")
def run_api(run_id: str, store: Store) -> RunDetail:
    """The run and its jobs' progress: what the run page polls while the run goes on."""
    return store.run(run_id)


@router.post("/api/runs/{run_id}/cancel")
async def cancel_run(
    run_id: str, request: Request, who: Annotated[Principal, Depends(submitter)]
) -> dict[str, int]:
    """Cancel every unfinished job of the run (a submitter's own runs; an admin's any);
    agents learn it from their next heartbeat. Through the controller's database thread, like
    every other write."""
    try:
        cancelled = await request.app.state.db.call(owners.cancel_as, who, run_id, time.time())
    except PermissionDeniedError as error:
        refused(f"POST {request.url.path}", error, request.client.host if request.client else "")
        raise
    return {"jobs_cancelled": cancelled}
