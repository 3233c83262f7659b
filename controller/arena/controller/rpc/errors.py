"""Translate Arena errors into gRPC status codes where calls leave the servicers."""

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import pydantic
import sqlalchemy.exc
import structlog

from arena.common.errors import ArenaError, AuthError, ConflictError, NotFoundError, SuiteError

log = structlog.get_logger(__name__)

R = TypeVar("R")

_CODES: list[tuple[type[Exception], grpc.StatusCode]] = [
    (AuthError, grpc.StatusCode.PERMISSION_DENIED),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (ConflictError, grpc.StatusCode.FAILED_PRECONDITION),
    (SuiteError, grpc.StatusCode.INVALID_ARGUMENT),
    (pydantic.ValidationError, grpc.StatusCode.INVALID_ARGUMENT),
    (ValueError, grpc.StatusCode.INVALID_ARGUMENT),
]


def status_for(error: Exception) -> grpc.StatusCode:
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL


def grpc_errors(
    method: Callable[..., Awaitable[R]],
) -> Callable[..., Awaitable[R]]:
    """Abort with a clear code and message instead of letting an exception become UNKNOWN."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await method(self, request, context)
        except (ArenaError, pydantic.ValidationError, ValueError) as error:
            await context.abort(status_for(error), str(error))
            raise  # unreachable: abort raises
        except sqlalchemy.exc.OperationalError as error:
            # a full disk or a locked/unreachable database: callers retry, nothing is lost
            log.error("storage unavailable", method=method.__name__, error=str(error.orig))
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, f"controller storage unavailable: {error.orig}"
            )
            raise
        except Exception:
            log.exception("internal error", method=method.__name__)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error; see controller log")
            raise

    return wrapper


class _Malformed:
    def __init__(self, error: Exception) -> None:
        self.error = error


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Bytes that are not the method's protobuf get INVALID_ARGUMENT with the parser's words,
    instead of grpc's UNKNOWN "Unexpected DecodeError" (Arena methods are unary-unary or, for
    the read streams, unary-stream)."""

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
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"malformed request: {request.error}"
                )
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
