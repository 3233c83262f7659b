"""An OpenAI-compatible server that answers at once with pre-rendered bytes, for client benches.

A bare ``asyncio.Protocol`` (no framework) so that the server costs a few microseconds per
request and the client under test is always the bottleneck. Streaming chat requests get one
pre-rendered SSE body (a role chunk, ``--chunks`` content chunks, usage, ``[DONE]``) framed by
Content-Length on a keep-alive connection; non-streaming ones a small JSON answer with usage;
``GET /v1/models`` lists the one model. Prints ``PORT <n>`` on stdout once listening.

Usage: ``python -m bench.instant_server [--port 0] [--chunks 16] [--model tiny]``
"""

import argparse
import asyncio
import json
import time

HEAD = "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {length}\r\n\r\n"


def _response(body: bytes, kind: str) -> bytes:
    return HEAD.format(kind=kind, length=len(body)).encode() + body


def render_stream(chunks: int, model: str) -> bytes:
    """One complete chat-completions stream as llama.cpp/vLLM write it."""

    def event(choices: list[dict[str, object]], **extra: object) -> str:
        payload = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(payload)}\n\n"

    def delta(**fields: object) -> list[dict[str, object]]:
        return [{"index": 0, "delta": fields, "logprobs": None, "finish_reason": None}]

    parts = [event(delta(role="assistant", content=""))]
    parts += [event(delta(content=f" tok{i}")) for i in range(chunks)]
    usage = {"prompt_tokens": 8, "completion_tokens": chunks, "total_tokens": 8 + chunks}
    parts += [event([], usage=usage), "data: [DONE]\n\n"]
    return "".join(parts).encode()


class Answers:
    def __init__(self, chunks: int, model: str) -> None:
        usage = {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9}
        message = {"index": 0, "message": {"role": "assistant", "content": "x"}}
        complete = {"choices": [{**message, "finish_reason": "length"}], "usage": usage}
        self.stream = _response(render_stream(chunks, model), "text/event-stream")
        self.complete = _response(json.dumps(complete).encode(), "application/json")
        models = {"object": "list", "data": [{"id": model, "object": "model"}]}
        self.models = _response(json.dumps(models).encode(), "application/json")

    def answer(self, head: bytes, body: bytes) -> bytes:
        if head.startswith(b"GET"):
            return self.models
        if b'"stream": true' in body or b'"stream":true' in body:
            return self.stream
        return self.complete


class InstantProtocol(asyncio.Protocol):
    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (head_end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:head_end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body = self.buffer[head_end + 4 : end]
            self.buffer = self.buffer[end:]
            assert self.transport is not None
            self.transport.write(self.answers.answer(head, body))


async def serve(port: int, chunks: int, model: str) -> None:
    answers = Answers(chunks, model)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: InstantProtocol(answers), "127.0.0.1", port)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--model", default="tiny")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.chunks, args.model))


if __name__ == "__main__":
    main()
