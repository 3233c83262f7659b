"""Token counting, so prompt lengths are exact for the engine's tokenizer.

Client and server tokenizers disagree often enough (vllm PR #44708) that the engine's own
``/tokenize`` is the default. Both vLLM (``prompt``) and llama.cpp (``content``) spellings are
sent; special tokens are not added, as vLLM's prompt alignment does. When the suite names a
local ``tokenizer.json`` (``ModelSpec.tokenizer``), ``LocalTokenizer`` reads it with the
``tokenizers`` package instead: no round trips, and the engine needs no tokenizer endpoint.
"""

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


TOKENIZER_CONNECTIONS = 2
"""Calls in flight at once: callers may gather dozens, but llama-server serves its HTTP
routes from a small thread pool and drops the connections it has no thread for."""


class ServerTokenizer:
    """``POST /tokenize`` and ``/detokenize`` on the engine; owns its own small session, whose
    pool of ``TOKENIZER_CONNECTIONS`` queues the calls beyond it."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._session: aiohttp.ClientSession | None = None

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
            raise TokenizerError(f"/tokenize answered without 'tokens': {str(answer)[:200]}")
        return [int(token) for token in tokens]

    async def decode(self, ids: list[int]) -> str:
        answer = await self._post("/detokenize", {"model": self._endpoint.model, "tokens": ids})
        text = answer.get("prompt", answer.get("content"))
        if not isinstance(text, str):
            raise TokenizerError(f"/detokenize answered without text: {str(answer)[:200]}")
        return text

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=300),
                connector=aiohttp.TCPConnector(limit=TOKENIZER_CONNECTIONS),
            )
        url = self._endpoint.url(path)
        try:
            async with self._session.post(
                url, json=body, headers=self._endpoint.headers(), allow_redirects=False
            ) as response:
                if response.status >= 300:
                    text = await response.text(errors="replace")
                    raise TokenizerError(f"{path}: HTTP {response.status}: {text[:500]}")
                answer = await response.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise TokenizerError(f"{path}: {exc}") from exc
        if not isinstance(answer, dict):
            raise TokenizerError(f"{path}: unexpected answer {str(answer)[:200]}")
        return answer


class LocalTokenizer:
    """A Hugging Face ``tokenizer.json`` (the file, or a folder holding it), in process."""

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
        ids: list[int] = self._tokenizer.encode(text, add_special_tokens=False).ids
        return ids

    async def decode(self, ids: list[int]) -> str:
        text: str = self._tokenizer.decode(ids, skip_special_tokens=False)
        return text

    async def close(self) -> None:
        """Nothing to release; here so both tokenizers are closed the same way."""


def make_tokenizer(model: ModelSpec, endpoint: Endpoint) -> LocalTokenizer | ServerTokenizer:
    """The suite's local tokenizer when it names one, else the engine's ``/tokenize``."""
    if model.tokenizer:
        return LocalTokenizer(model.tokenizer)
    return ServerTokenizer(endpoint)
