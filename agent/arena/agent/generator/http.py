"""The hot path's HTTP/1.1 client: one POST per request, its body handed over read by read.

Why not aiohttp here: its request and response objects cost ~200 µs of CPU per request
(profiled), most of a streamed request's client cost, and ``vllm bench serve`` pays the same,
since it uses aiohttp; a client that must be several times cheaper than the tools it checks
cannot be built on the same layers. So a request is rendered to bytes before its send time and
written with one call on a pooled keep-alive connection; httptools (llhttp, the parser of
Node.js and uvicorn) frames the response (Content-Length, chunked, or until close), and every
body piece reaches the caller with the arrival time of the network read that carried it.
Everything else the generator asks of a server (model lists, latency probes) still goes
through aiohttp.

A kept-alive connection that the server closed while idle fails the next request before any
answer; such a request is retried once on a fresh connection (aiohttp #6138: llama-server does
this every few requests under load), as ``client.post`` does for aiohttp.
"""

import asyncio
import select
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

from arena.agent.generator.clock import JobClock

Body = Callable[[bytes, float], None]
"""Receives each piece of the response body and the job-clock time its read arrived."""


@dataclass(frozen=True)
class Origin:
    """Where requests go: scheme, host and port of a base URL."""

    tls: bool
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> "Origin":
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        return cls(tls, parts.hostname, parts.port or (443 if tls else 80))

    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        return host if self.port == (443 if self.tls else 80) else f"{host}:{self.port}"


def render_post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The whole request as it goes on the wire."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {Origin.of(url).host_header()}",
        f"Content-Length: {len(body)}",
        "Accept: text/event-stream, application/json",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class StaleConnection(ConnectionError):
    """A reused connection closed before any byte of the answer: nothing reached the engine."""


@dataclass(frozen=True)
class Response:
    status: int
    reason: str


class Connection(asyncio.Protocol):
    """One keep-alive connection; it carries one exchange at a time."""

    def __init__(self, clock: JobClock) -> None:
        self.clock = clock
        self.transport: asyncio.Transport | None = None
        self.reused = False
        self.closed = False
        self._parser: httptools.HttpResponseParser | None = None
        self._on_body: Body | None = None
        self._early: list[tuple[bytes, float]] = []
        self._reason = ""
        self._headers: asyncio.Future[Response] | None = None
        self._done: asyncio.Future[float] | None = None
        self._now = 0.0
        self._answered = False
        self._keep_alive = False
        self._framed = False
        """The answer declared its length (Content-Length or chunked); if not, the close ends it."""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._now = self.clock.now()
        self._answered = True
        if self._parser is None:
            return  # bytes nobody asked for (a server's parting 408, say): ignored
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionError(f"malformed HTTP response: {error}"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._done is None or self._done.done():
            return
        if not self._framed and self._headers is not None and self._headers.done():
            self._done.set_result(self.clock.now())  # a body delimited by the close: complete
        elif not self._answered and self.reused:
            self._fail(StaleConnection("kept-alive connection was closed by the server"))
        else:
            self._fail(ConnectionResetError(f"connection lost mid-response: {exc or 'closed'}"))

    # httptools callbacks
    def on_status(self, reason: bytes) -> None:
        self._reason += reason.decode("latin-1")

    def on_header(self, name: bytes, _: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self._framed = True

    def on_headers_complete(self) -> None:
        assert self._parser is not None and self._headers is not None
        self._keep_alive = self._parser.should_keep_alive()
        status = self._parser.get_status_code()
        if not self._headers.done():
            self._headers.set_result(Response(status, self._reason))

    def on_body(self, body: bytes) -> None:
        if self._on_body is None:  # came in the same read as the headers: held for receive()
            self._early.append((body, self._now))
        else:
            self._on_body(body, self._now)

    def on_message_complete(self) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(self._now)

    # one exchange
    def send(self, data: bytes) -> tuple[asyncio.Future[Response], float, float]:
        """Write the request now: the future that resolves when the answer's headers are in,
        the job-clock time just before the write and the time it returned."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._parser = httptools.HttpResponseParser(self)
        self._headers = loop.create_future()
        self._done = loop.create_future()
        self._on_body = None
        self._early.clear()
        self._reason = ""
        self._answered = False
        self._framed = False
        before = self.clock.now()
        self.transport.write(data)
        return self._headers, before, self.clock.now()

    def receive(self, on_body: Body) -> asyncio.Future[float]:
        """Deliver the body from here on (and what came with the headers); the future gives
        the arrival time of the read that ended the message."""
        assert self._done is not None
        for body, now in self._early:
            on_body(body, now)
        self._early.clear()
        self._on_body = on_body
        return self._done

    def reusable(self) -> bool:
        """The last exchange ended with a whole answer and the server keeps the connection."""
        done = self._done
        if done is None or not done.done() or done.cancelled():
            return False
        return done.exception() is None and self._keep_alive and not self.closed

    def hung_up(self) -> bool:
        """Readable while idle: the server's close (or stray bytes) has arrived and is not yet
        processed. llama-server closes a streamed response's connection right after it, so a
        client quick to send the next request would otherwise write into it."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is None:
            return False
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: Exception) -> None:
        for future in (self._headers, self._done):
            if future is not None and not future.done():
                future.set_exception(error)
                future.exception()  # retrieved here: the caller may await only one of them


class Connections:
    """Idle keep-alive connections per origin; as many are opened as requests run at once."""

    def __init__(self, clock: JobClock) -> None:
        self.clock = clock
        self._idle: dict[Origin, list[Connection]] = {}
        self._all: set[Connection] = set()
        self._tls: ssl.SSLContext | None = None

    async def __aenter__(self) -> "Connections":
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for connection in self._all:
            connection.abort()
        self._all.clear()
        self._idle.clear()

    async def acquire(self, origin: Origin, *, fresh: bool = False) -> Connection:
        """An idle connection when there is one (no suspension), else a new one."""
        idle = self._idle.get(origin, [])
        while idle and not fresh:
            connection = idle.pop()
            if not connection.closed and not connection.hung_up():
                connection.reused = True
                return connection
            self.discard(connection)
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if origin.tls else None
        _, protocol = await loop.create_connection(
            lambda: Connection(self.clock), origin.host, origin.port, ssl=tls
        )
        self._all.add(protocol)
        return protocol

    def release(self, origin: Origin, connection: Connection) -> None:
        """Back to the pool if the exchange ended cleanly and the server keeps it alive."""
        if connection.reusable():
            self._idle.setdefault(origin, []).append(connection)
        else:
            self.discard(connection)

    def discard(self, connection: Connection) -> None:
        connection.abort()
        self._all.discard(connection)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls
