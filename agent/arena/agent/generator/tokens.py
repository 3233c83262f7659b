"""Token counting, so prompt lengths are exact for the engine's tokenizer.

Client and server tokenizers disagree often enough (vllm PR #44708) that the engine's own
``/tokenize`` is the default. Both vLLM (``prompt``) and llama.cpp (``content``) spellings are
sent; special tokens are not added, as vLLM's prompt alignment does. When the suite names a
local ``tokenizer.json`` (``ModelSpec.tokenizer``), ``LocalTokenizer`` reads it with the
``tokenizers`` package instead: no round trips, and the engine needs no tokenizer endpoint.
An endpoint with neither (``/tokenize`` missing or answering something else, no local file)
gets ``APPROXIMATE_RULE``: prompt lengths are then approximate, and the job says so
(``arena.common.metrics.prompt_lengths``).
"""

import asyncio
import importlib
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from arena.agent.generator.client import Endpoint
from arena.common.schemas.suite import ModelSpec


class Tokenizer(Protocol):
    async def encode(self, text: str) -> list[int]: ...

    async def decode(self, ids: list[int]) -> str: ...


class TokenizerError(RuntimeError):
    """The engine's tokenizer endpoint failed or answered in an unknown shape."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing
        """The endpoint has no such route (404, 405, 501, or an answer of another shape, as
        a server that answers every POST with a completion): not a failure of one that has."""


_NO_ROUTE = {404, 405, 501}


TOKENIZER_CONNECTIONS = 2
"""Calls in flight at once: callers may gather dozens, but llama-server serves its HTTP
routes from a small thread pool and drops the connections it has no thread for."""


CALL_TIMEOUT_S = 300
"""One call's limit, counted from when it has a connection: the wait behind the others in the
queue is not bounded (a long run's count queues thousands)."""


class ServerTokenizer:
    """``POST /tokenize`` and ``/detokenize`` on the engine; owns its own small session, whose
    ``TOKENIZER_CONNECTIONS`` calls in flight a semaphore admits, queueing the rest before
    each call's ``CALL_TIMEOUT_S`` starts."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(TOKENIZER_CONNECTIONS)

    async def encode(self, text: str) -> list[int]:
        body = {
            "model": self._endpoint.model,
            "prompt": text,
            "content": text,
            "add_special_tokens": False,
        }
        answer = await self._post("/tokenize", body)
        tokens = answer.get("tokens")
        if not isinstance(tokens, list):
            raise TokenizerError(
                f"/tokenize answered without 'tokens': {str(answer)[:200]}", missing=True
            )
        return [int(token) for token in tokens]

    async def decode(self, ids: list[int]) -> str:
        answer = await self._post("/detokenize", {"model": self._endpoint.model, "tokens": ids})
        text = answer.get("prompt", answer.get("content"))
        if not isinstance(text, str):
            raise TokenizerError(
                f"/detokenize answered without text: {str(answer)[:200]}", missing=True
            )
        return text

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._slots:
            return await self._call(path, body)

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_S),
                connector=aiohttp.TCPConnector(limit=TOKENIZER_CONNECTIONS),
            )
        url = self._endpoint.url(path)
        try:
            async with self._session.post(
                url, json=body, headers=self._endpoint.headers(), allow_redirects=False
            ) as response:
                if response.status >= 300:
                    text = await response.text(errors="replace")
                    raise TokenizerError(
                        f"{path}: HTTP {response.status}: {text[:500]}",
                        missing=response.status in _NO_ROUTE,
                    )
                answer = await response.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise TokenizerError(f"{path}: {exc}") from exc
        except ValueError as exc:  # not JSON: a page, not a tokenizer
            raise TokenizerError(f"{path}: the answer is not JSON", missing=True) from exc
        if not isinstance(answer, dict):
            raise TokenizerError(f"{path}: unexpected answer {str(answer)[:200]}", missing=True)
        return answer


class LocalTokenizer:
    """A Hugging Face ``tokenizer.json`` (the file, or a folder holding it), in process; each
    call runs in a thread, so a long text does not hold the event loop."""

    def __init__(self, path: str | Path) -> None:
        file = Path(path).expanduser()
        if file.is_dir():
            file = file / "tokenizer.json"
        try:
            tokenizers = importlib.import_module("tokenizers")
        except ImportError as exc:
            raise TokenizerError("a local tokenizer needs the 'tokenizers' package") from exc
        try:
            self._tokenizer = tokenizers.Tokenizer.from_file(str(file))
        except Exception as exc:  # the library raises bare Exceptions for unreadable files
            raise TokenizerError(f"cannot load tokenizer {file}: {exc}") from exc

    async def encode(self, text: str) -> list[int]:
        return await asyncio.to_thread(self._encode, text)

    async def decode(self, ids: list[int]) -> str:
        return await asyncio.to_thread(self._decode, ids)

    def _encode(self, text: str) -> list[int]:
        ids: list[int] = self._tokenizer.encode(text, add_special_tokens=False).ids
        return ids

    def _decode(self, ids: list[int]) -> str:
        text: str = self._tokenizer.decode(ids, skip_special_tokens=False)
        return text

    async def close(self) -> None:
        """Nothing to release; here so both tokenizers are closed the same way."""


CHARS_PER_TOKEN = 4
APPROXIMATE_RULE = f"{CHARS_PER_TOKEN} characters per token"
"""OpenAI's rule of thumb for English text: Arena's corpus is English words, so a prompt of
N approximate tokens is roughly N tokens for most BPE tokenizers (±20 % across models)."""


class ApproximateTokenizer:
    """No tokenizer to ask: every ``CHARS_PER_TOKEN`` characters are one token. Ids index the
    pieces seen, so slicing ids and decoding gives back the text they came from."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._pieces: list[str] = []

    async def encode(self, text: str) -> list[int]:
        step = CHARS_PER_TOKEN
        return [self._id(text[i : i + step]) for i in range(0, len(text), step)]

    async def decode(self, ids: list[int]) -> str:
        known = len(self._pieces)
        return "".join(self._pieces[i] for i in ids if 0 <= i < known)

    async def close(self) -> None:
        """Nothing to release."""

    def _id(self, piece: str) -> int:
        found = self._ids.get(piece)
        if found is None:
            found = self._ids[piece] = len(self._pieces)
            self._pieces.append(piece)
        return found


class ServerOrApproximate:
    """The engine's ``/tokenize`` when it has one; else, decided once on the first call and
    kept for the whole job, ``ApproximateTokenizer`` (``approximate`` says why)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._server = ServerTokenizer(endpoint)
        self._chosen: Tokenizer | None = None
        self._deciding = asyncio.Lock()
        self.approximate: str | None = None
        """Why lengths are approximate (the endpoint's answer), or None while exact."""

    async def encode(self, text: str) -> list[int]:
        return await (await self._choose()).encode(text)

    async def decode(self, ids: list[int]) -> str:
        return await (await self._choose()).decode(ids)

    async def close(self) -> None:
        await self._server.close()

    async def ready(self) -> None:
        """Decide (once) between the engine's route and the approximate rule; after it,
        ``approximate`` is final. Raises ``TokenizerError`` where the route fails."""
        await self._choose()

    async def _choose(self) -> Tokenizer:
        if self._chosen is not None:
            return self._chosen
        async with self._deciding:
            if self._chosen is None:
                try:
                    await self._server.decode(await self._server.encode("Arena"))
                    self._chosen = self._server
                except TokenizerError as error:
                    if not error.missing:  # a tokenizer that failed: the job fails
                        raise
                    self.approximate = str(error)[:300]
                    self._chosen = ApproximateTokenizer()
        return self._chosen


def exact_lengths(tokenizer: object) -> bool:
    """Whether ``tokenizer`` is not known to use ``APPROXIMATE_RULE``; True for a
    ``ServerOrApproximate`` still undecided: judge with ``counts_exactly`` instead."""
    if isinstance(tokenizer, ApproximateTokenizer):
        return False
    return not getattr(tokenizer, "approximate", None)


async def counts_exactly(tokenizer: object) -> bool:
    """Whether ``tokenizer`` counts the model's own tokens (a local file, the engine's route),
    not ``APPROXIMATE_RULE``, once it has decided (``ServerOrApproximate.ready``): a count
    from it may be compared with the engine's usage."""
    if isinstance(tokenizer, ServerOrApproximate):
        await tokenizer.ready()
    return exact_lengths(tokenizer)


def make_tokenizer(model: ModelSpec, endpoint: Endpoint) -> LocalTokenizer | ServerOrApproximate:
    """The suite's local tokenizer when it names one, else the engine's ``/tokenize`` (with
    approximate lengths where the engine has none)."""
    if model.tokenizer:
        return LocalTokenizer(model.tokenizer)
    return ServerOrApproximate(endpoint)
