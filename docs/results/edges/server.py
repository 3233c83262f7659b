"""The ground-truth server of these captures: an OpenAI-style chat endpoint that streams its
role chunk at once, then "prefills" for 50 ms, then sends one content chunk per requested token.

``--always-stream`` streams even a non-streaming request; ``--fail-every N`` answers every
N-th streamed request with HTTP 500. Usage: ``python server.py --port 18102 [options]``
"""

import argparse
import asyncio
import json
from typing import Any

from aiohttp import web

PREFILL_S = 0.05


def chunk(delta: dict[str, str]) -> bytes:
    return f"data: {json.dumps({'choices': [{'index': 0, 'delta': delta}]})}\n\n".encode()


def make_app(always_stream: bool, fail_every: int) -> web.Application:
    streamed = 0

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "ground-truth"}]})

    async def chat(request: web.Request) -> web.StreamResponse:
        nonlocal streamed
        body: dict[str, Any] = await request.json()
        if not body.get("stream") and not always_stream:
            message = {"role": "assistant", "content": "Paris"}
            usage = {"prompt_tokens": 12, "completion_tokens": 1}
            return web.json_response({"choices": [{"message": message}], "usage": usage})
        streamed += 1
        if fail_every and streamed % fail_every == 0:
            return web.Response(status=500, text="worker crashed")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(chunk({"role": "assistant"}))
        await asyncio.sleep(PREFILL_S)
        for _ in range(body.get("max_tokens") or 8):
            await response.write(chunk({"content": "x"}))
            await asyncio.sleep(0.001)
        await response.write(b"data: [DONE]\n\n")
        return response

    async def tokenize(request: web.Request) -> web.Response:
        body = await request.json()
        text = body.get("prompt", body.get("content", ""))
        return web.json_response({"tokens": [ord(c) for c in text]})  # one token a character

    async def detokenize(request: web.Request) -> web.Response:
        ids = (await request.json())["tokens"]
        return web.json_response({"prompt": "".join(chr(i) for i in ids)})

    app = web.Application()
    app.router.add_get("/health", models)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/tokenize", tokenize)
    app.router.add_post("/detokenize", detokenize)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--always-stream", action="store_true")
    parser.add_argument("--fail-every", type=int, default=0)
    args = parser.parse_args()
    app = make_app(args.always_stream, args.fail_every)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
