"""``reset_prefix_cache`` against real servers shaped like each engine: vLLM's and the
simulated engine's route, SGLang's ``/flush_cache``, llama-server's 404, and servers that fail,
redirect or are gone. A redirect is never followed, and only a missing route tries the next."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from arena.agent.engines.probe import reset_prefix_cache
from tests.support import free_port

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serving(routes: dict[str, Handler]) -> AsyncIterator[tuple[str, list[str]]]:
    """A server with POST ``routes``; yields its URL and the paths it was asked for."""
    asked: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        asked.append(f"{request.method} {request.path} {request.headers.get('Authorization')}")
        return await handler(request)

    app = web.Application(middlewares=[record])
    for path, handler in routes.items():
        app.router.add_post(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", asked
    finally:
        await runner.cleanup()


async def ok(_: web.Request) -> web.Response:
    return web.Response()


async def test_vllm_style_route_resets_with_the_key() -> None:
    async with serving({"/reset_prefix_cache": ok}) as (url, asked):
        assert await reset_prefix_cache(url, "k") is True
    assert asked == ["POST /reset_prefix_cache Bearer k"]


async def test_sglang_flush_cache_is_tried_when_the_first_route_is_missing() -> None:
    async with serving({"/flush_cache": ok}) as (url, asked):
        assert await reset_prefix_cache(url, None) is True
    assert asked == ["POST /reset_prefix_cache None", "POST /flush_cache None"]


async def test_no_route_is_false() -> None:
    async with serving({}) as (url, asked):
        assert await reset_prefix_cache(url, None) is False
    assert len(asked) == 2


async def test_a_refusal_is_false_and_tries_nothing_else() -> None:
    async def busy(_: web.Request) -> web.Response:
        return web.Response(status=400, text="Cache not flushed")

    async with serving({"/reset_prefix_cache": busy, "/flush_cache": ok}) as (url, asked):
        assert await reset_prefix_cache(url, None) is False
    assert asked == ["POST /reset_prefix_cache None"]


async def test_a_redirect_is_not_followed() -> None:
    async with serving({"/flush_cache": ok}) as (target, target_asked):

        async def elsewhere(_: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(f"{target}/flush_cache")

        async with serving({"/reset_prefix_cache": elsewhere}) as (url, _):
            assert await reset_prefix_cache(url, None) is False
    assert target_asked == []


async def test_an_engine_that_is_gone_is_false() -> None:
    assert await reset_prefix_cache(f"http://127.0.0.1:{free_port()}", None) is False
