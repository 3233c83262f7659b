"""Translate Arena errors into gRPC status codes where calls leave the servicers."""

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import pydantic
import sqlalchemy.exc
import structlog

from shared.errors import ArenaError, AuthError, ConflictError, NotFoundError, SuiteError

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
