"""One streaming chat-completions request, timed on the job clock.

What is sent: ``model``, one or more ``messages``, ``max_tokens``, ``stream``, ``stream_options:
{include_usage: true}``, ``ignore_eos`` when asked, and for a cache-off session benchmark
``cache_prompt: false`` with a unique ``cache_salt``. Neither reference tool sets a temperature
(vLLM stopped forcing greedy decoding), so the server's default applies here too. Differences,
deliberate: vLLM sends ``max_completion_tokens`` and the text as a list of content parts,
llama-benchy also asks for ``return_token_ids``; Arena sends plain ``max_tokens`` and string
content, which every OpenAI-compatible server accepts.

What is measured (``RequestSample`` documents each field): the timer starts just before the POST
(connection set-up included, as vLLM does); each network read is timestamped once, on arrival,
by the connection that received it (``arena.agent.generator.http``);
``cached_tokens`` is the usage's ``prompt_tokens_details.cached_tokens`` where the engine
reports it; ``first_response_s`` is the first chunk with any ``choices``; ``first_token_s`` and
``chunk_times_s`` count only chunks carrying generated output (content, reasoning or tool calls,
never a role-only chunk; vLLM's latency ends at the last of them); ``first_content_s`` is the
first chunk with answer content or a tool call, later than ``first_token_s`` when the model
reasoned first; the streamed reasoning and content text is kept (still JSON-escaped) so that
the tokenizer counts the answer once it completes (``counting.py``); ``end_s`` is when the stream
ended (the read that completed the response, usage and ``[DONE]`` included), where vLLM's run
duration ends.
A request never raises: HTTP errors, resets, timeouts and malformed streams become ``error``.
"""

import asyncio
import importlib
import json
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import structlog

from arena.agent.generator.http import (
    Connection,
    Connections,
    Origin,
    Response,
    StaleConnection,
    render_post,
)
from arena.agent.generator.sse import SSEParser
from arena.common.schemas.sample import RequestSample

log = structlog.get_logger(__name__)

REQUEST_TIMEOUT_S = 6 * 60 * 60
"""vLLM's own per-request limit; long generations must not be cut by the client."""
ERROR_BODY_CHARS = 2000
GENERATED_FIELDS = ("content", "reasoning_content", "reasoning", "tool_calls", "function_call")
REASONING_FIELDS = ("reasoning_content", "reasoning")
"""llama.cpp's and DeepSeek's spelling, then vLLM's newer one."""
_TEXT_FIELD = re.compile(r'"(content|reasoning_content|reasoning)"\s*:\s*"(?=[^"])')
"""A non-empty output string in a raw payload; group 1 names its channel."""
_FINISH = re.compile(r'"finish_reason"\s*:\s*"([^"]*)"')
"""A set ``finish_reason`` in a raw payload (outside any string: a quote inside one is escaped)."""


def _json_loader() -> Callable[[str], Any]:
    """orjson when installed (3× faster on stream chunks), else the standard library."""
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        return json.loads
    loads: Callable[[str], Any] = orjson.loads
    return loads


_loads = _json_loader()
T = TypeVar("T")


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible server; ``base_url`` without ``/v1``, e.g. ``http://127.0.0.1:8000``."""

    base_url: str
    model: str
    api_key: str | None = None
    accepts_ignore_eos: bool = True
    """vLLM and llama.cpp take ``ignore_eos``; OpenAI-strict servers refuse unknown fields."""

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, str]]
    max_tokens: int
    ignore_eos: bool = False
    cache_salt: str | None = None
    """Asks the engine not to serve this prompt from its prefix cache (a ``prefix_cache: off``
    session benchmark): ``cache_prompt: false`` for llama.cpp and the simulated engine, this
    unique ``cache_salt`` for vLLM. Sent only where the endpoint accepts extra fields."""
    collect_text: bool = False
    """Keep the answer's text (``Measurement.text``): a session re-sends it as history."""


@dataclass
class Measurement:
    """Timings of one request, before it is labelled as a ``RequestSample``."""

    sent_s: float
    written_s: float | None = None
    first_response_s: float | None = None
    first_token_s: float | None = None
    end_s: float | None = None
    chunk_times_s: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    error: str | None = None
    text: list[str] | None = None
    """The answer's content pieces, in order; only when the request asked to collect them."""
    first_content_s: float | None = None
    usage_reasoning_tokens: int | None = None
    """``usage.completion_tokens_details.reasoning_tokens``, where the engine reports it."""
    reasoning: list[str] = field(default_factory=list)
    """Each reasoning chunk's text, JSON-escaped as it came (decoded when counted); only when
    the answer is kept (``Prepared.keep_answer``)."""
    content: list[str] = field(default_factory=list)
    """Each content chunk's text, JSON-escaped as it came; only when the answer is kept."""
    reasoning_chunks: int = 0
    """Chunks that carried reasoning, kept or not."""
    finish_reason: str | None = None
    """The stream's ``finish_reason`` (``stop``: the engine ended at an end token)."""
    tool_calls: bool = False
    """A tool call was streamed: its arguments are output the kept text does not hold."""

    def to_sample(self, **labels: Any) -> RequestSample:
        """Labels: benchmark, variant, run, index and the optional schedule/baseline fields.

        ``reasoning_tokens`` is the usage's where given, else one per reasoning chunk until the
        tokenizer counts the reasoning (``counting.count_answers``)."""
        reasoning_tokens = self.usage_reasoning_tokens or None  # 0: nothing was reasoned
        if reasoning_tokens is None and self.reasoning_chunks:
            reasoning_tokens = self.reasoning_chunks
        return RequestSample(
            sent_s=self.sent_s,
            written_s=self.written_s,
            first_response_s=self.first_response_s,
            first_token_s=self.first_token_s,
            first_content_s=self.first_content_s,
            end_s=self.end_s,
            chunk_times_s=self.chunk_times_s,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cached_tokens=self.cached_tokens,
            reasoning_tokens=reasoning_tokens,
            error=self.error,
            **labels,
        )

    def answer(self) -> "Answer":
        """What the tokenizer counts: the streamed text, still escaped."""
        return Answer(
            "".join(self.reasoning),
            "".join(self.content),
            reasoning_counted_by_usage=bool(self.usage_reasoning_tokens),
            tool_calls=self.tool_calls,
            finish_reason=self.finish_reason,
        )


@dataclass(frozen=True)
class Answer:
    """One request's streamed output text, JSON-escaped as it came (``escaped_text`` decodes)."""

    reasoning: str
    content: str
    reasoning_counted_by_usage: bool = False
    tool_calls: bool = False
    finish_reason: str | None = None


def escaped_text(escaped: str) -> str | None:
    """The text of JSON-escaped string pieces joined; ``None`` when they do not decode."""
    try:
        text = json.loads(f'"{escaped}"')
    except ValueError:
        return None
    return text if isinstance(text, str) else None


def _escaped(text: str) -> str:
    """``text`` as the inside of a JSON string, as a fast-path piece is kept."""
    return json.dumps(text)[1:-1]


def _string_end(payload: str, start: int) -> int:
    """Index of the quote closing the JSON string that starts at ``start`` (one preceded by an
    even run of backslashes); -1 when none."""
    end = payload.find('"', start)
    while end > 0:
        backslashes = 0
        while payload[end - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return end
        end = payload.find('"', end + 1)
    return end


@dataclass(frozen=True)
class Prepared:
    """A request rendered to its wire bytes ahead of its send time: sending only writes them."""

    origin: Origin
    data: bytes
    max_tokens: int
    collect_text: bool = False
    keep_answer: bool = True
    """Keep the streamed text for the tokenizer (``Measurement.answer``): off where nothing
    will count it (``RunContext.keeps_answers``), so no chunk's text is stored or shipped."""


def prepare(endpoint: Endpoint, request: ChatRequest, *, keep_answer: bool = True) -> Prepared:
    body = json.dumps(build_payload(endpoint, request)).encode()
    return _rendered(endpoint, request, body, keep_answer)


def encode_message(role: str, content: str) -> bytes:
    """One message as JSON, for ``prepare_encoded``."""
    return json.dumps({"role": role, "content": content}).encode()


_MESSAGES_SLOT = b'"messages": null'


def prepare_encoded(
    endpoint: Endpoint,
    request: ChatRequest,
    messages: Sequence[bytes],
    *,
    keep_answer: bool = True,
) -> Prepared:
    """``prepare`` with the messages already JSON (``encode_message``), ``request.messages``
    unused: a session's conversation grows by two messages a turn, so only those are encoded
    and the rest is joined (a 50k-token conversation: 0.03 ms against 0.8 ms to encode it
    whole), which keeps the build out of the send lag where a turn is due at once."""
    payload = build_payload(endpoint, request)
    payload["messages"] = None
    head, tail = json.dumps(payload).encode().split(_MESSAGES_SLOT)  # strings escape quotes
    body = b"".join((head, b'"messages": [', b", ".join(messages), b"]", tail))
    return _rendered(endpoint, request, body, keep_answer)


def _rendered(endpoint: Endpoint, request: ChatRequest, body: bytes, keep_answer: bool) -> Prepared:
    url = endpoint.url("/v1/chat/completions")
    headers = {"Content-Type": "application/json", **endpoint.headers()}
    data = render_post(url, body, headers)
    return Prepared(Origin.of(url), data, request.max_tokens, request.collect_text, keep_answer)


def build_payload(endpoint: Endpoint, request: ChatRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": endpoint.model,
        "messages": request.messages,
        "max_tokens": request.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.ignore_eos and endpoint.accepts_ignore_eos:
        payload["ignore_eos"] = True
    if request.cache_salt is not None and endpoint.accepts_ignore_eos:
        payload["cache_prompt"] = False
        payload["cache_salt"] = request.cache_salt
    return payload


async def post(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> aiohttp.ClientResponse:
    """POST, retried once if a kept-alive connection proves closed before any answer came.

    Servers close idle keep-alive connections while still advertising them (llama-server does
    so every few requests under load; aiohttp #6138), and the next request written into such a
    socket fails at once with nothing sent to the engine. aiohttp retries only idempotent
    methods; this retries the POST once on a fresh or other pooled connection. vLLM and
    llama-benchy report these requests as failed instead. Never follows a redirect (see
    ``arena.agent.engines.probe``).
    """
    try:
        return await session.post(url, allow_redirects=False, **kwargs)
    except aiohttp.ClientConnectorError:
        raise  # could not connect at all: nothing stale about it
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        log.debug("kept-alive connection was closed; retrying once", error=repr(exc))
        return await session.post(url, allow_redirects=False, **kwargs)


def open_session() -> aiohttp.ClientSession:
    """For the calls beside the measured requests (model list, latency probes)."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))


def _carries_output(choice: Any) -> bool:
    """vLLM 0.33's rule, plus ``reasoning_content`` (llama.cpp's and llama-benchy's spelling).

    A non-empty output field counts; so does ``content: ""`` without ``role`` (a token that
    decodes to nothing), while the opening role chunk never does.
    """
    delta = choice.get("delta") if isinstance(choice, dict) else None
    if not isinstance(delta, dict):
        return False
    if any(delta.get(name) for name in GENERATED_FIELDS):
        return True
    return delta.get("content") == "" and "role" not in delta


class _StreamReader:
    """Folds SSE payloads into a ``Measurement``; ``now`` is the arrival time of their read.

    Fast path: a payload whose raw text shows a non-empty ``content``/``reasoning`` string and
    no ``usage`` or ``error`` key is a generated-output chunk with choices, so it is recorded
    without parsing (a quote inside a JSON string is always escaped, so the pattern cannot match
    text the model generated): the string is sliced out still escaped, into its channel's list,
    and the channel's name says whether answer content has begun. Anything else is parsed in
    full, and so is every chunk when the answer's text is collected (``collect``). ``keep``: the
    text is kept for the tokenizer; without it only the channel is noted. A set
    ``finish_reason`` is noted on either path.
    """

    def __init__(self, measurement: Measurement, collect: bool = False, keep: bool = True) -> None:
        self.measurement = measurement
        self.collect = collect
        self.keep = keep
        if collect:
            measurement.text = []
        self.done = False
        """``[DONE]`` seen: the stream ended as the protocol says."""

    def apply(self, payload: str, now: float) -> None:
        if not self.collect and '"usage"' not in payload and '"error"' not in payload:
            found = _TEXT_FIELD.search(payload)
            if found is not None and self._plain(payload, found, now):
                return
        if payload.strip() == "[DONE]":
            self.done = True
            return
        try:
            chunk = _loads(payload)
        except ValueError:  # json.JSONDecodeError and orjson.JSONDecodeError both are
            self.measurement.error = f"malformed stream chunk: {payload[:200]!r}"
            return
        if isinstance(chunk, dict):
            self._chunk(chunk, now)

    def _plain(self, payload: str, found: "re.Match[str]", now: float) -> bool:
        """Record an output chunk from its raw text; False when it must be parsed instead:
        a string that does not end, or one the delta does not end with (another field may
        follow: both channels in one chunk, as a reasoning parser may send at the switch)."""
        key, start = found.span()
        end = payload.find('"', start)
        if end > 0 and payload[end - 1] == "\\":
            end = _string_end(payload, start)
        if end < 0 or payload[end + 1 : end + 2] != "}":
            return False
        m = self.measurement
        if payload[key + 1] == "c":  # "content"
            if self.keep:
                m.content.append(payload[start:end])
            if m.first_content_s is None:
                m.first_content_s = now
        else:
            m.reasoning_chunks += 1
            if self.keep:
                m.reasoning.append(payload[start:end])
        if '"finish_reason":null' not in payload:  # compact JSON's usual chunk: one search
            finish = _FINISH.search(payload)
            if finish is not None:
                m.finish_reason = finish[1]
        self._output(now)
        return True

    def _chunk(self, chunk: dict[str, Any], now: float) -> None:
        m = self.measurement
        if "error" in chunk and not chunk.get("choices"):
            m.error = f"stream error: {json.dumps(chunk['error'])[:ERROR_BODY_CHARS]}"
            return
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            if isinstance(usage.get("prompt_tokens"), int):
                m.prompt_tokens = usage["prompt_tokens"]
            if isinstance(usage.get("completion_tokens"), int):
                m.completion_tokens = usage["completion_tokens"]
            details = usage.get("prompt_tokens_details")
            if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
                m.cached_tokens = details["cached_tokens"]
            output = usage.get("completion_tokens_details")
            if isinstance(output, dict) and isinstance(output.get("reasoning_tokens"), int):
                m.usage_reasoning_tokens = output["reasoning_tokens"]
        choices = chunk.get("choices")
        if not choices or not isinstance(choices, list):
            return
        finish = choices[0].get("finish_reason") if isinstance(choices[0], dict) else None
        if isinstance(finish, str):
            m.finish_reason = finish
        if _carries_output(choices[0]):
            self._channels(choices[0]["delta"], now)
            self._output(now)
            return
        if m.first_response_s is None:
            m.first_response_s = now

    def _channels(self, delta: dict[str, Any], now: float) -> None:
        """A parsed output chunk's text into its channels; content or a tool call starts the
        answer (``first_content_s``)."""
        m = self.measurement
        for name in REASONING_FIELDS:  # a server may send both with the same text: one
            reasoning = delta.get(name)
            if isinstance(reasoning, str) and reasoning:
                m.reasoning_chunks += 1
                if self.keep:
                    m.reasoning.append(_escaped(reasoning))
                break
        content = delta.get("content")
        if isinstance(content, str):
            if m.text is not None:
                m.text.append(content)
            if content and self.keep:
                m.content.append(_escaped(content))
        called = bool(delta.get("tool_calls") or delta.get("function_call"))
        m.tool_calls = m.tool_calls or called
        if m.first_content_s is None and (content or called):
            m.first_content_s = now

    def _output(self, now: float) -> None:
        m = self.measurement
        if m.first_token_s is None:
            m.first_token_s = now
            if m.first_response_s is None:
                m.first_response_s = now
        m.chunk_times_s.append(now)


def start_now(coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """A task whose first step runs at once (Python ≥ 3.12: an eager task), not queued.

    A request started so is stamped and written in the caller's own step; a plain task would
    wait behind every callback still queued in this loop iteration. Python 3.11 has no eager
    tasks, so there it is a plain task.
    """
    eager = getattr(asyncio, "eager_task_factory", None)
    if eager is None:
        return asyncio.create_task(coroutine)
    task: asyncio.Task[T] = eager(asyncio.get_running_loop(), coroutine)
    return task


async def stream_chat(connections: Connections, request: Prepared) -> Measurement:
    """Send one streaming request and time it; never raises (cancellation excepted).

    ``sent_s`` is restamped just before the request's bytes are written (``written_s`` when
    the write returned); a request that never got a connection keeps the time it was started."""
    clock = connections.clock
    measurement = Measurement(sent_s=clock.now())
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            await _exchange(connections, request, measurement)
    except Exception as exc:  # the request's failure is data, not a crash
        measurement.end_s = clock.now()
        measurement.error = f"{type(exc).__name__}: {exc}".strip()
        log.debug("request failed", error=measurement.error)
        return measurement
    if measurement.error is None and measurement.first_token_s is None:
        measurement.error = "stream ended without generated output"
    return measurement


def _send(
    connection: Connection, request: Prepared, measurement: Measurement
) -> Awaitable[Response]:
    """Write the request; ``sent_s`` is the instant before the write (the bytes cannot leave
    earlier, and connection set-up and the client's own delays before it count as send lag),
    ``written_s`` when the write returned (the kernel had the bytes; on a loaded box that can
    be milliseconds later, docs/generator.md)."""
    answered, measurement.sent_s, measurement.written_s = connection.send(request.data)
    return answered


async def _exchange(connections: Connections, request: Prepared, measurement: Measurement) -> None:
    """Write the request, then fold the answer into ``measurement`` read by read."""
    connection = await connections.acquire(request.origin)
    try:
        try:
            response = await _send(connection, request, measurement)
        except StaleConnection as stale:  # nothing reached the engine: once more, afresh
            log.debug("kept-alive connection was closed; retrying once", error=str(stale))
            connections.discard(connection)
            connection = await connections.acquire(request.origin, fresh=True)
            response = await _send(connection, request, measurement)
        if response.status >= 300:
            pieces: list[bytes] = []
            measurement.end_s = await connection.receive(lambda piece, _: pieces.append(piece))
            text = b"".join(pieces).decode(errors="replace")
            status = f"HTTP {response.status} {response.reason}"
            measurement.error = f"{status}: {text[:ERROR_BODY_CHARS]}"
            return
        parser = SSEParser()
        reader = _StreamReader(measurement, request.collect_text, request.keep_answer)

        def body(piece: bytes, now: float) -> None:
            for payload_text in parser.feed(piece):
                reader.apply(payload_text, now)

        end = await connection.receive(body)
        for payload_text in parser.close():
            reader.apply(payload_text, end)
        measurement.end_s = end
    finally:
        connections.release(request.origin, connection)
