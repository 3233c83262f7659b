"""Where calls leave the servicers: Arena errors become statuses by arena.common.status's
table; anything else is a controller bug, sent as INTERNAL with an incident id that the
controller's log line repeats, never as "your input is bad"."""

import contextlib
import functools
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, NoReturn, TypeVar

import grpc
import pydantic
import sqlalchemy.exc
import structlog

from arena.common.errors import ArenaError, InternalError, InvalidRequestError, UnavailableError
from arena.common.status import row_for, to_status
from arena.controller.rpc.audit import refused

log = structlog.get_logger(__name__)

R = TypeVar("R")


def as_arena_error(error: Exception, method: str) -> ArenaError:
    """The error a caller is told about; logs what only the controller's operator may see."""
    if isinstance(error, ArenaError) and row_for(error) is not None:
        return error
    if isinstance(error, sqlalchemy.exc.OperationalError):
        # a full disk or a locked/unreachable database: callers retry, nothing is lost
        log.error("storage unavailable", method=method, error=str(error.orig))
        return UnavailableError(f"controller storage unavailable: {error.orig}")
    incident = uuid.uuid4().hex[:12]
    log.error("internal error", method=method, incident=incident, exc_info=error)
    return InternalError(
        f"internal controller error (incident {incident}): a bug in the controller, "
        "not in the request; its log has the details",
        incident,
    )


async def abort(context: grpc.aio.ServicerContext, error: ArenaError) -> NoReturn:
    await context.abort_with_status(to_status(error))
    raise AssertionError("unreachable: abort_with_status raises")


@contextlib.contextmanager
def reading(field: str) -> Iterator[None]:
    """Parse a request field: what fails to parse is the caller's error, not the controller's."""
    try:
        yield
    except (ValueError, pydantic.ValidationError) as error:  # json, pydantic, int() and friends
        raise InvalidRequestError(f"{field}: {error}") from error


def grpc_errors(
    method: Callable[..., Awaitable[R]],
) -> Callable[..., Awaitable[R]]:
    """Abort with the table's code and details instead of letting an exception become UNKNOWN."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:  # the method aborted with a status of its own: keep it
            raise
        except Exception as error:
            if context.done():  # the caller hung up (a stream's write failed): nobody to tell
                log.info("call ended by the caller", method=method.__name__, error=str(error))
                raise
            arena_error = as_arena_error(error, method.__name__)
            refused(method.__name__, arena_error, context.peer())
            await abort(context, arena_error)

    return wrapper


class _Malformed:
    def __init__(self, error: Exception) -> None:
        self.error = error


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Bytes that are not the method's protobuf get an InvalidRequestError with the parser's
    words, instead of grpc's UNKNOWN "Unexpected DecodeError" (Arena methods are unary-unary or,
    for the read streams, unary-stream)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        behaviour = handler.unary_unary or handler.unary_stream
        if behaviour is None:
            return handler
        parse = handler.request_deserializer

        def tolerant_parse(data: bytes) -> Any:
            try:
                return parse(data)
            except Exception as error:  # protobuf's DecodeError and friends
                return _Malformed(error)

        async def checked(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, _Malformed):
                await abort(context, InvalidRequestError(f"malformed request: {request.error}"))
            return await behaviour(request, context)

        wrap = (
            grpc.unary_unary_rpc_method_handler
            if handler.unary_unary
            else grpc.unary_stream_rpc_method_handler
        )
        return wrap(
            checked,
            request_deserializer=tolerant_parse,
            response_serializer=handler.response_serializer,
        )
