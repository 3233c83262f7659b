"""Send lag means what the server sees: a request's ``sent_s`` is stamped when its bytes were
written, so a client busy while it connected is late in the record, as at the server.

The server here runs in its own thread and logs each request's arrival on the job's clock."""

import asyncio
import socket
import threading
import time

from arena.agent.generator.client import ChatRequest, Endpoint, prepare, stream_chat
from arena.agent.generator.clock import JobClock
from arena.agent.generator.http import Connections

EVENTS = (
    b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
    b"data: [DONE]\n\n"
)
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
    + f"Content-Length: {len(EVENTS)}\r\n\r\n".encode()
    + EVENTS
)
BUSY_S = 0.05


class ArrivalLog:
    """Accepts connections one by one; for each, the time its request's first bytes came."""

    def __init__(self, clock: JobClock) -> None:
        self.clock = clock
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.arrivals: list[float] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(65536)
                self.arrivals.append(self.clock.now())
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                conn.sendall(ANSWER)

    def close(self) -> None:
        self.listener.close()


async def test_a_client_busy_while_connecting_is_late_in_the_record_as_at_the_server() -> None:
    clock = JobClock()
    server = ArrivalLog(clock)
    try:
        async with Connections(clock) as pool:
            request = prepare(Endpoint(server.url, "m"), ChatRequest([], 1))
            sent = []
            for _ in range(3):
                started = clock.now()
                # the client's loop is busy (a GC pause, another request's parsing) while the
                # fresh connection is being set up
                asyncio.get_running_loop().call_soon(time.sleep, BUSY_S)
                measurement = await stream_chat(pool, request)
                assert measurement.error is None
                sent.append((started, measurement.sent_s))
    finally:
        server.close()
    assert len(server.arrivals) == 3
    for (started, sent_s), arrival in zip(sent, server.arrivals, strict=True):
        assert sent_s - started >= BUSY_S  # the lag is in the record …
        assert abs(arrival - sent_s) < BUSY_S / 5  # … where the server saw the request
