"""An OpenAI-compatible server that answers at once with pre-rendered bytes, for client benches.

A bare ``asyncio.Protocol`` (no framework) so that the server costs a few microseconds per
request and the client under test is always the bottleneck. Streaming chat requests get one
pre-rendered SSE body (a role chunk, ``--chunks`` content chunks, usage, ``[DONE]``) framed by
Content-Length on a keep-alive connection; non-streaming ones a small JSON answer with usage;
``GET /v1/models`` lists the one model. Prints ``PORT <n>`` on stdout once listening.

Paced mode (``--ttft-ms``, ``--itl-ms``): the role chunk at once, the first of ``max_tokens``
content chunks after the TTFT, the others one ITL apart, usage and ``[DONE]`` with the last.
Every request is timed alone (no batching), so two clients measuring this server must agree
to within their own overheads: the parity bench's control.

``--close`` (paced mode) closes the connection after each answer, as llama-server does after a
streamed one, so that every request opens a new connection inside its TTFT.
``--reasoning-chunks N`` makes the first N tokens (of ``max_tokens`` paced, of ``--chunks`` at
once) reasoning, streamed in ``--reasoning-field`` (``reasoning_content``, llama.cpp's and
DeepSeek's spelling, or ``reasoning``, vLLM's newer one) before the answer's content, as a
reasoning model's server does; ``--usage-completion-tokens K`` makes usage report K output
tokens whatever was streamed (an engine whose usage disagrees with its stream, or exceeds
``max_tokens``).
``POST /tokenize`` and ``/detokenize`` (both spellings, vLLM's ``prompt`` and llama.cpp's
``content``) split text on whitespace, one token per word, numbered as first seen: every
streamed piece (`` tok3``, `` think0``) is then exactly one token, so an agent can run a whole
job against this server and its tokenizer count is known.
``--arrivals FILE`` appends the moment each streaming request was read in full
(``time.perf_counter()``, the machine's monotonic clock, which clients on the same machine share)
to FILE, one per line: how closely a client's simultaneous requests really arrive together.

Usage: ``python -m bench.instant_server [--port 0] [--chunks 16] [--model tiny]
[--ttft-ms 0 --itl-ms 0] [--close] [--arrivals FILE] [--reasoning-chunks 0]
[--reasoning-field reasoning_content] [--usage-completion-tokens K]``
"""

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from typing import TextIO

from arena.agent.headroom_server import next_request

HEAD = "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {length}\r\n\r\n"


def _response(body: bytes, kind: str) -> bytes:
    return HEAD.format(kind=kind, length=len(body)).encode() + body


@dataclass(frozen=True)
class Quirks:
    """How a paced stream departs from a plain one (see the module docstring)."""

    reasoning_chunks: int = 0
    reasoning_field: str = "reasoning_content"
    usage_completion_tokens: int | None = None


def render_stream(chunks: int, model: str, quirks: Quirks = Quirks()) -> bytes:
    """One complete chat-completions stream as llama.cpp/vLLM write it: ``chunks`` tokens, the
    first ``quirks.reasoning_chunks`` of them reasoning."""

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

    thinking = min(quirks.reasoning_chunks, chunks)
    reasoning = {quirks.reasoning_field: None} if thinking else {}
    parts = [event(delta(role="assistant", content=""))]
    parts += [event(delta(**{quirks.reasoning_field: f" think{i}"})) for i in range(thinking)]
    parts += [event(delta(content=f" tok{i}", **reasoning)) for i in range(chunks - thinking)]
    said = chunks if quirks.usage_completion_tokens is None else quirks.usage_completion_tokens
    usage = {"prompt_tokens": 8, "completion_tokens": said, "total_tokens": 8 + said}
    parts += [event([], usage=usage), "data: [DONE]\n\n"]
    return "".join(parts).encode()


def streaming(body: bytes) -> bool:
    return b'"stream": true' in body or b'"stream":true' in body


class WordTokenizer:
    """One token per whitespace-separated word, ids in order of first sight."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.words: list[str] = []

    def encode(self, text: str) -> list[int]:
        for word in text.split():
            if word not in self.ids:
                self.ids[word] = len(self.words)
                self.words.append(word)
        return [self.ids[word] for word in text.split()]

    def decode(self, tokens: list[int]) -> str:
        return " ".join(self.words[t] for t in tokens if 0 <= t < len(self.words))

    def answer(self, path: bytes, body: bytes) -> bytes:
        request = json.loads(body)
        if path == b"/tokenize":
            text = request.get("content", request.get("prompt", ""))
            answer: dict[str, object] = {"tokens": self.encode(str(text))}
        else:
            text = self.decode([int(t) for t in request.get("tokens", [])])
            answer = {"content": text, "prompt": text}
        return _response(json.dumps(answer).encode(), "application/json")


class Answers:
    def __init__(
        self,
        chunks: int,
        model: str,
        ttft_s: float = 0.0,
        itl_s: float = 0.0,
        close: bool = False,
        quirks: Quirks = Quirks(),
    ) -> None:
        self.model = model
        self.close = close
        self.ttft_s = ttft_s
        self.itl_s = itl_s
        self.quirks = quirks
        self.tokenizer = WordTokenizer()
        usage = {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9}
        message = {"index": 0, "message": {"role": "assistant", "content": "x"}}
        complete = {"choices": [{**message, "finish_reason": "length"}], "usage": usage}
        self.stream = _response(render_stream(chunks, model, quirks), "text/event-stream")
        self.complete = _response(json.dumps(complete).encode(), "application/json")
        models = {"object": "list", "data": [{"id": model, "object": "model"}]}
        self.models = _response(json.dumps(models).encode(), "application/json")

    def answer(self, head: bytes, body: bytes) -> bytes:
        if head.startswith(b"GET"):
            return self.models
        path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
        if path in (b"/tokenize", b"/detokenize"):
            return self.tokenizer.answer(path, body)
        if streaming(body):
            return self.stream
        return self.complete


def paced_pieces(body: bytes, model: str, quirks: Quirks = Quirks()) -> list[bytes]:
    """The stream for one request as separate writes: role, each token, then usage + [DONE]."""
    request = json.loads(body)
    tokens = int(request.get("max_completion_tokens") or request.get("max_tokens") or 16)
    events = render_stream(tokens, model, quirks).split(b"\n\n")[:-1]
    pieces = [event + b"\n\n" for event in events]
    return [pieces[0], *pieces[1:-3], pieces[-3] + pieces[-2] + pieces[-1]]


class InstantProtocol(asyncio.Protocol):
    def __init__(self, answers: Answers, arrivals: TextIO | None = None) -> None:
        self.answers = answers
        self.arrivals = arrivals
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (request := next_request(self.buffer)) is not None:
            head, body, self.buffer = request
            assert self.transport is not None
            if self.arrivals is not None and b'"stream"' in body:
                self.arrivals.write(f"{time.perf_counter():.6f}\n")
            if self.answers.itl_s and not head.startswith(b"GET") and streaming(body):
                self.pace(body)
            else:
                self.transport.write(self.answers.answer(head, body))

    def pace(self, body: bytes) -> None:
        pieces = paced_pieces(body, self.answers.model, self.answers.quirks)
        transport = self.transport
        assert transport is not None
        length = sum(len(piece) for piece in pieces)
        transport.write(HEAD.format(kind="text/event-stream", length=length).encode() + pieces[0])
        loop = asyncio.get_running_loop()
        for number, piece in enumerate(pieces[1:]):
            delay = self.answers.ttft_s + number * self.answers.itl_s
            loop.call_later(delay, transport.write, piece)
        if self.answers.close:  # as llama-server does after a streamed answer
            loop.call_later(delay, transport.close)


async def serve(port: int, answers: Answers, arrivals: TextIO | None = None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: InstantProtocol(answers, arrivals), "127.0.0.1", port)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--ttft-ms", type=float, default=0.0)
    parser.add_argument("--itl-ms", type=float, default=0.0)
    parser.add_argument("--arrivals", type=argparse.FileType("a", bufsize=1))
    parser.add_argument("--close", action="store_true")
    parser.add_argument("--reasoning-chunks", type=int, default=0)
    parser.add_argument(
        "--reasoning-field", choices=("reasoning_content", "reasoning"), default="reasoning_content"
    )
    parser.add_argument("--usage-completion-tokens", type=int)
    args = parser.parse_args()
    if args.reasoning_chunks < 0 or (args.usage_completion_tokens or 0) < 0:
        parser.error("--reasoning-chunks and --usage-completion-tokens must be at least 0")
    quirks = Quirks(args.reasoning_chunks, args.reasoning_field, args.usage_completion_tokens)
    answers = Answers(
        args.chunks, args.model, args.ttft_ms / 1000.0, args.itl_ms / 1000.0, args.close, quirks
    )
    asyncio.run(serve(args.port, answers, args.arrivals))


if __name__ == "__main__":
    main()
