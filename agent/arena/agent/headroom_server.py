"""The tiny local server the agent's client self-calibration drives (``arena.agent.headroom``).

A bare ``asyncio.Protocol`` answering every streaming chat request with pre-rendered bytes, so
that the server costs a few microseconds per request and the client is the bottleneck. Run in
its own process (``python -m arena.agent.headroom_server``), never in the agent's loop, whose
lag is what is measured; it prints ``PORT <n>`` once listening on 127.0.0.1 and exits when its
stdin closes. Two answers:

- ``POST /v1/chat/completions``: the whole stream at once (a role chunk, ``CHUNKS`` content
  chunks, usage, ``[DONE]``), framed by Content-Length on a keep-alive connection;
- ``POST /held/v1/chat/completions``: the same chunks ``HELD_ITL_S`` apart, so that many
  streams stay open at once.
"""

import asyncio
import json
import sys

CHUNKS = 16
HELD_ITL_S = 0.02
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n"
MAX_REQUEST_BYTES = 1 << 20


def _event(payload: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def stream_pieces() -> list[bytes]:
    """One chat-completions stream, piece by piece: role, each token, then usage + [DONE]."""

    def delta(**fields: object) -> dict[str, object]:
        return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}

    usage = {"prompt_tokens": 8, "completion_tokens": CHUNKS, "total_tokens": 8 + CHUNKS}
    tail = _event({"choices": [], "usage": usage}) + b"data: [DONE]\n\n"
    tokens = [_event(delta(content=f" t{i}")) for i in range(CHUNKS)]
    return [_event(delta(role="assistant", content="")), *tokens[:-1], tokens[-1] + tail]


PIECES = stream_pieces()
BODY = b"".join(PIECES)
INSTANT = HEAD % len(BODY) + BODY


def next_request(buffer: bytes) -> tuple[bytes, bytes, bytes] | None:
    """The first whole HTTP/1.1 request in ``buffer`` as (head, body, the bytes after it), framed
    by its Content-Length; None until it has all arrived (``bench.instant_server`` too)."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = buffer[:head_end]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    end = head_end + 4 + length
    if len(buffer) < end:
        return None
    return head, buffer[head_end + 4 : end], buffer[end:]


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        if len(self.buffer) > MAX_REQUEST_BYTES:
            self.transport.abort()
            return
        while (request := next_request(self.buffer)) is not None:
            head, _, self.buffer = request
            if head.startswith(b"POST /held/"):
                self._held()
            else:
                self.transport.write(INSTANT)

    def _held(self) -> None:
        transport = self.transport
        assert transport is not None
        transport.write(HEAD % len(BODY) + PIECES[0])
        loop = asyncio.get_running_loop()
        for number, piece in enumerate(PIECES[1:], start=1):
            loop.call_later(number * HELD_ITL_S, transport.write, piece)


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Protocol, "127.0.0.1", 0, backlog=4096)
    sys.stdout.write(f"PORT {server.sockets[0].getsockname()[1]}\n")
    sys.stdout.flush()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with server:
        await reader.read()  # the agent closed our stdin (or died): done


if __name__ == "__main__":
    asyncio.run(serve())
