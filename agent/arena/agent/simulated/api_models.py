"""The request bodies the simulated engine accepts, and the OpenAI-style error it answers with.

Bodies ignore fields they do not model (temperature, top_p, ...), as real engines accept them;
the fields they do model are validated, and a bad one is a 400 ``invalid_request_error``.
"""

from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MAX_MODEL_LEN = 131072
DEFAULT_MAX_TOKENS = 256
MAX_CACHE_SALT_CHARS = 1024


class ApiError(Exception):
    """An error the client caused; rendered as OpenAI's ``{"error": {...}}`` body."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> dict[str, Any]:
        error_type = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": error_type, "code": self.status}}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _ContentPart(_Lenient):
    type: str
    text: str | None = None


class Message(_Lenient):
    role: str
    content: str | list[_ContentPart] | None = None

    def text(self) -> str:
        """Text of the message; non-text parts (images, ...) contribute nothing."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content if part.text is not None)


def messages_text(messages: list[Message]) -> str:
    """The prompt of a chat: message contents joined by newlines, no template overhead."""
    return "\n".join(message.text() for message in messages)


class _StreamOptions(_Lenient):
    include_usage: bool = False


class ChatRequest(_Lenient):
    """``ignore_eos`` and sampling fields are accepted and ignored: the output is always exactly
    ``max_tokens`` long, as a random-weight model never stops early.

    Two prefix-cache fields of real engines are honoured when the engine's cache is on:
    llama.cpp's ``cache_prompt: false`` (neither look up nor store this request) and vLLM's
    ``cache_salt`` (mixed into the first block's key, so requests with different salts never
    share cached blocks)."""

    messages: list[Message] = Field(min_length=1)
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    stream: bool = False
    stream_options: _StreamOptions | None = None
    seed: int | None = None
    cache_prompt: bool = True
    cache_salt: Annotated[str, Field(min_length=1, max_length=MAX_CACHE_SALT_CHARS)] | None = None

    @property
    def output_tokens(self) -> int:
        return self.max_tokens or self.max_completion_tokens or DEFAULT_MAX_TOKENS

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class TokenizeRequest(_Lenient):
    """vLLM's ``{"prompt"}`` or ``{"messages"}``, or llama.cpp's ``{"content"}``.

    Clients that serve both engines send ``prompt`` and ``content`` together (each server reads
    its own key), so the two may both be given when they agree.
    """

    prompt: str | None = None
    messages: list[Message] | None = None
    content: str | None = None

    @model_validator(mode="after")
    def _one_input(self) -> "TokenizeRequest":
        text = self.prompt if self.prompt is not None else self.content
        if (self.messages is None) == (text is None):
            raise ValueError("give 'messages', or 'prompt' / 'content'")
        if None not in (self.prompt, self.content) and self.prompt != self.content:
            raise ValueError("'prompt' and 'content' disagree")
        return self

    def text(self) -> str:
        if self.messages is not None:
            return messages_text(self.messages)
        return self.prompt if self.prompt is not None else self.content or ""


class DetokenizeRequest(_Lenient):
    tokens: list[int]


_Body = TypeVar("_Body", bound=BaseModel)


async def read_body(request: web.Request, model: type[_Body]) -> _Body:
    """The request's JSON body as ``model``; any problem becomes one readable ``ApiError``."""
    try:
        body = await request.json()
    except ValueError:
        raise ApiError("the request body is not valid JSON") from None
    try:
        return model.model_validate(body)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
            for problem in error.errors(include_url=False)
        )
        raise ApiError(problems) from None


def check_context_length(prompt_tokens: int, output_tokens: int) -> None:
    """Refuse, as vLLM does, a request that cannot fit in the model's context."""
    requested = prompt_tokens + output_tokens
    if requested > MAX_MODEL_LEN:
        raise ApiError(
            f"This model's maximum context length is {MAX_MODEL_LEN} tokens. However, you "
            f"requested {requested} tokens ({prompt_tokens} in the messages, {output_tokens} "
            "in the completion). Please reduce the length of the messages or completion."
        )
