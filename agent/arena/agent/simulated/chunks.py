"""Bytes of the OpenAI chat responses, pre-encoded so a streamed token costs one bytes join.

Every chunk and response carries ``system_fingerprint: "arena-simulated"`` so no result from
this engine can pass for a real one.
"""

import json
from typing import Any

from arena.agent.simulated.tokenizer import VOCAB

FINGERPRINT = "arena-simulated"
DONE = b"data: [DONE]\n\n"

_TOKEN_CONTENT_JSON = tuple(json.dumps(word + " ").encode() for word in VOCAB)
"""``delta.content`` of each vocabulary token as JSON: the word plus a space."""


def token_content(token_id: int) -> str:
    """Text a token adds to the output (streamed and non-streamed alike)."""
    return VOCAB[token_id] + " "


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class ChunkEncoder:
    """SSE events of one streamed ``chat.completion.chunk`` response."""

    __slots__ = ("_head", "_token_prefix")

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        header = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": FINGERPRINT,
        }
        self._head = b"data: " + _compact(header)[:-1]
        self._token_prefix = self._head + b',"choices":[{"index":0,"delta":{"content":'

    def role_chunk(self) -> bytes:
        """The first event: the assistant role and no content (it must not count as TTFT)."""
        delta = {"role": "assistant", "content": ""}
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
        return self._head + b',"choices":[' + _compact(choice) + b"]}\n\n"

    def token_chunk(self, token_id: int, last: bool) -> bytes:
        finish = b'"length"' if last else b"null"
        return b"".join(
            (
                self._token_prefix,
                _TOKEN_CONTENT_JSON[token_id],
                b'},"logprobs":null,"finish_reason":',
                finish,
                b"}]}\n\n",
            )
        )

    def usage_chunk(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> bytes:
        usage = _usage(prompt_tokens, completion_tokens, cached_tokens)
        return self._head + b',"choices":[],"usage":' + _compact(usage) + b"}\n\n"


def completion_body(
    completion_id: str,
    created: int,
    model: str,
    content: str,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int,
) -> dict[str, Any]:
    """A non-streamed ``chat.completion``; outputs always end by length."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "length",
            }
        ],
        "usage": _usage(prompt_tokens, completion_tokens, cached_tokens),
    }


def _usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> dict[str, Any]:
    """OpenAI's usage, with the prompt tokens served from the prefix cache as OpenAI and
    llama-server report them (always present, 0 without a hit)."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
    }
