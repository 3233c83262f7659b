"""The application factory: routers, templates' static files and the plotly.js bundle.

Routes raise Arena's errors as they come; one handler answers each with the HTTP status of its
row in the error table (``arena.common.status``): an unknown run is 404, a bad argument 422.
"""

import math
import time
from collections.abc import Awaitable, Callable, Sequence

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from arena.common.errors import ArenaError, RateLimitedError
from arena.common.status import http_status
from arena.controller.settings import ControllerSettings
from arena.controller.store.database import Database
from arena.controller.web.reads import Reader
from arena.controller.web.routes import analysis, health, runs, vendor
from arena.controller.web.templating import STATIC, templates

log = structlog.get_logger(__name__)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    vendor.router,
    runs.router,
    analysis.router,
)
"""Every view; a later router (``/metrics``) is appended here or passed to ``create_app``."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",  # /static/dashboard.js and /vendor/plotly.min.js, never inline
        # plotly.js writes its own <style> elements (their text changes with its version); a
        # style cannot run script, and no server text reaches the page as markup
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",  # plotly's modebar and image export
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "no-referrer",
}
"""Sent with every answer: a page shows text agents and submitters wrote, so no script may run
but the dashboard's own files, and no other site may frame it."""


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
    app.middleware("http")(_security_headers)
    app.exception_handler(HTTPException)(_error_page)
    app.exception_handler(ArenaError)(_arena_error)
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


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


async def _arena_error(request: Request, error: ArenaError) -> Response:
    """The error table's status for the error's class, shown as any other HTTP error."""
    status = http_status(error)
    if status >= 500:  # the controller's fault, not the caller's: keep the traceback
        log.error("dashboard request failed", path=request.url.path, exc_info=error)
    headers = None
    if isinstance(error, RateLimitedError):
        headers = {"Retry-After": str(math.ceil(error.retry_after_s))}
    return await _error_page(request, HTTPException(status, str(error), headers))


async def _error_page(request: Request, error: HTTPException) -> Response:
    """A page for a person (unknown run, bad preset), JSON for the API."""
    if request.url.path.startswith("/api/"):
        return await http_exception_handler(request, error)
    context = {"status": error.status_code, "detail": error.detail, "page": ""}
    return templates.TemplateResponse(
        request, "error.html", context, status_code=error.status_code, headers=error.headers
    )
