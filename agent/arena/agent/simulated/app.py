"""The simulated engine's aiohttp application: OpenAI-compatible routes over one batch scheduler.

Routes: ``GET /health`` (503 until ``startup_s`` has passed), ``GET /v1/models``,
``GET /version``, ``GET /metrics`` (the engine's counters, Prometheus text),
``POST /tokenize``, ``POST /detokenize``, ``POST /v1/chat/completions`` and
``POST /reset_prefix_cache`` (empties the prefix cache, as vLLM's route of that name).
Every response carries the header ``X-Arena-Engine: simulated``.
"""

import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from arena.agent.simulated.api_models import (
    MAX_MODEL_LEN,
    ApiError,
    DetokenizeRequest,
    TokenizeRequest,
    read_body,
)
from arena.agent.simulated.batching import BatchScheduler
from arena.agent.simulated.chat import ChatCompletions
from arena.agent.simulated.chunks import FINGERPRINT
from arena.agent.simulated.metrics import PROMETHEUS_CONTENT_TYPE, exposition
from arena.agent.simulated.tokenizer import decode, encode
from arena.common.schemas.engine import SimulatedEngine
from arena.common.version import arena_version

SCHEDULER_KEY = web.AppKey("scheduler", BatchScheduler)
"""The app's scheduler, for callers that want to watch the batch (tests do)."""

DEFAULT_MODEL_NAME = "arena-sim"

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(engine: SimulatedEngine, model_name: str = DEFAULT_MODEL_NAME) -> web.Application:
    scheduler = BatchScheduler(engine)
    routes = _Routes(engine, model_name, scheduler)
    app = web.Application(middlewares=[_api_errors])
    app[SCHEDULER_KEY] = scheduler
    app.cleanup_ctx.append(routes.lifetime)
    app.on_response_prepare.append(_label_simulated)
    app.router.add_get("/health", routes.health)
    app.router.add_get("/v1/models", routes.models)
    app.router.add_get("/version", routes.version)
    app.router.add_get("/metrics", routes.metrics)
    app.router.add_post("/reset_prefix_cache", routes.reset_prefix_cache)
    app.router.add_post("/tokenize", routes.tokenize)
    app.router.add_post("/detokenize", routes.detokenize)
    app.router.add_post("/v1/chat/completions", ChatCompletions(scheduler, model_name).handle)
    return app


class _Routes:
    def __init__(self, engine: SimulatedEngine, model_name: str, scheduler: BatchScheduler) -> None:
        self._engine = engine
        self._model_name = model_name
        self._scheduler = scheduler
        self._ready_at = float("inf")

    async def lifetime(self, app: web.Application) -> AsyncIterator[None]:
        """Run the batch loop while the app serves; the startup delay starts now."""
        self._ready_at = time.monotonic() + self._engine.startup_s
        async with app[SCHEDULER_KEY]:
            yield

    async def health(self, request: web.Request) -> web.Response:
        if time.monotonic() < self._ready_at:
            return web.json_response({"status": "starting", "simulated": True}, status=503)
        return web.json_response({"status": "ok", "simulated": True})

    async def models(self, request: web.Request) -> web.Response:
        model = {
            "id": self._model_name,
            "object": "model",
            "created": 0,
            "owned_by": FINGERPRINT,
            "max_model_len": MAX_MODEL_LEN,
        }
        return web.json_response({"object": "list", "data": [model]})

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": arena_version(), "engine": FINGERPRINT})

    async def metrics(self, request: web.Request) -> web.Response:
        cache = self._scheduler.prefix_cache
        page = exposition(self._scheduler.counters, 0 if cache is None else len(cache))
        return web.Response(body=page.encode(), headers={"Content-Type": PROMETHEUS_CONTENT_TYPE})

    async def reset_prefix_cache(self, request: web.Request) -> web.Response:
        """200 also with the cache off: there is then nothing cached to serve a request."""
        self._scheduler.reset_prefix_cache()
        return web.json_response({"reset": True})

    async def tokenize(self, request: web.Request) -> web.Response:
        body = await read_body(request, TokenizeRequest)
        tokens = encode(body.text())
        return web.json_response(
            {"tokens": tokens, "count": len(tokens), "max_model_len": MAX_MODEL_LEN}
        )

    async def detokenize(self, request: web.Request) -> web.Response:
        body = await read_body(request, DetokenizeRequest)
        try:
            text = decode(body.tokens)
        except ValueError as error:
            raise ApiError(str(error)) from None
        return web.json_response({"prompt": text, "content": text})


@web.middleware
async def _api_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return web.json_response(error.body(), status=error.status)


async def _label_simulated(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["X-Arena-Engine"] = "simulated"
