"""The application factory: routers, templates' static files and the plotly.js bundle."""

import time
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from arena.controller.settings import ControllerSettings
from arena.controller.store.database import Database
from arena.controller.web.reads import Reader
from arena.controller.web.routes import analysis, health, runs, vendor
from arena.controller.web.templating import STATIC, templates

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    vendor.router,
    runs.router,
    analysis.router,
)
"""Every view; a later router (``/metrics``) is appended here or passed to ``create_app``."""


def create_app(
    db: Database, settings: ControllerSettings, routers: Sequence[APIRouter] = ROUTERS
) -> FastAPI:
    app = FastAPI(
        title="Arena dashboard",
        docs_url=None,  # Swagger UI loads its scripts from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.reader = Reader(db, settings)
    app.state.db = db
    app.state.settings = settings
    app.middleware("http")(_server_timing)
    app.exception_handler(HTTPException)(_error_page)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in routers:
        app.include_router(router)
    return app


async def _server_timing(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """``Server-Timing: app;dur=MS``: the time spent in the app, readable in a browser's network
    tab and by ``bench/dashboard.py`` beside the full HTTP time."""
    started = time.perf_counter()
    response = await call_next(request)
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


async def _error_page(request: Request, error: HTTPException) -> Response:
    """A page for a person (unknown run, bad preset), JSON for the API."""
    if request.url.path.startswith("/api/"):
        return await http_exception_handler(request, error)
    context = {"status": error.status_code, "detail": error.detail, "page": ""}
    return templates.TemplateResponse(
        request, "error.html", context, status_code=error.status_code, headers=error.headers
    )
