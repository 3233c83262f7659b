"""One table of what each Arena error means at each edge: its gRPC status (read in both
directions), the HTTP status the dashboard answers with, and the exit code arenactl ends with.

The controller turns a raised ArenaError into a status; the agent and arenactl turn the status
back into the same class with the same message. Every status Arena sends carries rich details
(``google.rpc.Status`` in the ``grpc-status-details-bin`` trailer, via grpcio-status): an
``ErrorInfo`` naming the class, so two classes may share a code, and for a SuiteError a
``BadRequest`` with one field violation per problem, so its file:line problems survive the trip.
A status without those details (grpc's own, a proxy's) is read by its code alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus as Http
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc import StatusCode as Code
from grpc_status import rpc_status

from arena.common.errors import (
    ArenaError,
    AuthError,
    ConflictError,
    EngineError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    SuiteError,
    SuiteProblem,
    TooLargeError,
    UnavailableError,
)

DOMAIN = "arena"
"""ErrorInfo.domain of the details Arena writes; details from elsewhere are not trusted."""

MAX_DETAILS_BYTES = 3000
"""The message and the details ride in headers (gRPC's default limit is 8 KiB in all), so a
SuiteError with very many problems sends the first ones and says how many it left out."""

REFUSED = 2
"""arenactl's exit code for a request refused as given: fix the file or the arguments."""
FAILED = 1
"""arenactl's exit code for anything else that went wrong."""

M = TypeVar(
    "M", error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo
)


@dataclass(frozen=True)
class Row:
    error: type[ArenaError]
    code: Code
    """The code the controller sends for this class."""
    reason: str
    """ErrorInfo.reason: names the class on the wire."""
    retryable: bool
    """Whether trying the same call again later can succeed."""
    http_status: Http
    """What the dashboard answers with."""
    exit_code: int
    """What arenactl exits with: ``REFUSED`` or ``FAILED``."""
    also: tuple[Code, ...] = ()
    """Codes from gRPC itself (or a proxy) that read as this class when no details came."""


TABLE: tuple[Row, ...] = (
    # of two rows with one code, the first is what the code alone reads as: INVALID_ARGUMENT
    # without details is a bad request, not a SuiteError without problems
    Row(
        InvalidRequestError,
        Code.INVALID_ARGUMENT,
        "REQUEST_INVALID",
        False,
        Http.UNPROCESSABLE_ENTITY,
        REFUSED,
        also=(Code.OUT_OF_RANGE,),
    ),
    Row(
        SuiteError,
        Code.INVALID_ARGUMENT,
        "SUITE_INVALID",
        False,
        Http.UNPROCESSABLE_ENTITY,
        REFUSED,
    ),
    # RESOURCE_EXHAUSTED alone (gRPC's own message-size refusal) is a message too large, which
    # no retry fixes; Arena's rate limit sends it with RATE_LIMITED and a RetryInfo delay
    Row(
        TooLargeError,
        Code.RESOURCE_EXHAUSTED,
        "TOO_LARGE",
        False,
        Http.REQUEST_ENTITY_TOO_LARGE,
        REFUSED,
    ),
    Row(
        RateLimitedError,
        Code.RESOURCE_EXHAUSTED,
        "RATE_LIMITED",
        True,
        Http.TOO_MANY_REQUESTS,
        FAILED,
    ),
    # HTTP: a token sent and refused is 403, like a role too low; the 401 challenge (no token
    # at all, with WWW-Authenticate) is HTTP's own, sent by the dashboard's auth
    Row(AuthError, Code.UNAUTHENTICATED, "AUTH_REFUSED", False, Http.FORBIDDEN, FAILED),
    Row(
        PermissionDeniedError,
        Code.PERMISSION_DENIED,
        "PERMISSION_DENIED",
        False,
        Http.FORBIDDEN,
        FAILED,
    ),
    Row(NotFoundError, Code.NOT_FOUND, "NOT_FOUND", False, Http.NOT_FOUND, FAILED),
    Row(
        ConflictError,
        Code.FAILED_PRECONDITION,
        "CONFLICT",
        False,
        Http.CONFLICT,
        FAILED,
        also=(Code.ALREADY_EXISTS,),
    ),
    Row(
        UnavailableError,
        Code.UNAVAILABLE,
        "UNAVAILABLE",
        True,
        Http.SERVICE_UNAVAILABLE,
        FAILED,
        also=(Code.DEADLINE_EXCEEDED, Code.CANCELLED),
    ),
    Row(EngineError, Code.ABORTED, "ENGINE_FAILED", False, Http.BAD_GATEWAY, FAILED),
    Row(
        InternalError,
        Code.INTERNAL,
        "INTERNAL",
        False,
        Http.INTERNAL_SERVER_ERROR,
        FAILED,
        also=(Code.UNKNOWN, Code.DATA_LOSS),
    ),
)
"""Arena errors outside the table (a plain ArenaError, the agent's PolicyError) answer HTTP 500
and exit 1."""

_BY_CLASS = {row.error: row for row in TABLE}
_BY_REASON = {row.reason: row for row in TABLE}
_BY_CODE = {code: row for row in reversed(TABLE) for code in (*row.also, row.code)}


def row_for(error: BaseException) -> Row | None:
    """The row of the nearest class in the error's ancestry; None for foreign errors."""
    for kind in type(error).__mro__:
        if kind in _BY_CLASS:
            return _BY_CLASS[kind]
    return None


def http_status(error: ArenaError) -> Http:
    row = row_for(error)
    return row.http_status if row is not None else Http.INTERNAL_SERVER_ERROR


def exit_code(error: ArenaError) -> int:
    row = row_for(error)
    return row.exit_code if row is not None else FAILED


def is_retryable(error: BaseException) -> bool:
    """Whether the same call may succeed later: decided by the table, for Arena errors and for
    raw gRPC errors alike."""
    if isinstance(error, grpc.RpcError):
        code = getattr(error, "code", None)  # the bare base class carries no status
        row = _BY_CODE.get(code()) if callable(code) else None
        return row is not None and row.retryable
    row = row_for(error)
    return row is not None and row.retryable


def to_status(error: ArenaError) -> grpc.Status:
    """The status to abort a call with; classes outside the table must not get here (the
    controller reports them as an InternalError with an incident id)."""
    row = row_for(error)
    if row is None:
        raise TypeError(f"{type(error).__name__} has no row in the status table")
    if isinstance(error, SuiteError):
        return rpc_status.to_status(_suite_status(error, row))
    info = _info(row)
    if isinstance(error, InternalError) and error.incident:
        info.metadata["incident"] = error.incident
    details: list[Any] = [info]
    if isinstance(error, RateLimitedError):
        delay = error_details_pb2.RetryInfo()
        delay.retry_delay.FromMilliseconds(max(1, round(error.retry_after_s * 1000)))
        details.append(delay)
    return rpc_status.to_status(_status(row.code, str(error), details))


def from_rpc_error(error: grpc.RpcError) -> ArenaError:
    """The Arena error a failed call stands for: the sender's class when it sent details,
    else the class the table reads its code as, else a plain ArenaError naming the code."""
    code: Code = error.code()
    text: str = error.details() or code.name
    details = _details(error)
    info = _first(details, error_details_pb2.ErrorInfo)
    sent = _BY_REASON.get(info.reason) if info is not None else None
    row = sent or _BY_CODE.get(code)  # a reason this side does not know yet: read the code
    if row is None:
        return ArenaError(f"{code.name}: {text}")
    if row.error is SuiteError:
        problems = _problems(_first(details, error_details_pb2.BadRequest), info)
        if problems:
            return SuiteError.from_problems(problems)
        return SuiteError("", None, "", text)
    if row.error is InternalError:
        return InternalError(text, info.metadata.get("incident", "") if info else "")
    if row.error is RateLimitedError:
        delay = _first(details, error_details_pb2.RetryInfo)
        seconds = delay.retry_delay.ToMilliseconds() / 1000 if delay is not None else 1.0
        return RateLimitedError(text, seconds)
    return row.error(text)


def retry_after(error: BaseException) -> float:
    """The least wait before a retry: a rate limit's delay, a refused certificate's; 0 if none."""
    if isinstance(error, grpc.RpcError) and callable(getattr(error, "code", None)):
        error = from_rpc_error(error)
    return error.retry_after_s if isinstance(error, ArenaError) else 0.0


def sent_by_arena(error: grpc.RpcError) -> bool:
    """Whether Arena wrote this status (it carries Arena's details), as opposed to gRPC itself
    failing to reach the other side."""
    info = _first(_details(error), error_details_pb2.ErrorInfo)
    return info is not None


def _status(code: Code, message: str, details: Sequence[Any]) -> status_pb2.Status:
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return status_pb2.Status(code=code.value[0], message=message, details=packed)


def _info(row: Row) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=row.reason, domain=DOMAIN)


def _suite_status(error: SuiteError, row: Row) -> status_pb2.Status:
    """One field violation per problem (dotted path and message); where each problem sits in
    the file goes in ErrorInfo's metadata, as a field violation has no place for it."""
    problems = list(error.errors)
    for kept in range(len(problems), 0, -1):
        sent = problems[:kept]
        if kept < len(problems):
            note = f"and {len(problems) - kept} more problems"
            sent.append(SuiteProblem(problems[0].file, None, "", note))
        info, request = _info(row), error_details_pb2.BadRequest()
        for index, problem in enumerate(sent):
            request.field_violations.add(field=problem.field, description=problem.message)
            info.metadata[f"problem.{index}.file"] = problem.file
            if problem.line is not None:
                info.metadata[f"problem.{index}.line"] = str(problem.line)
        message = "\n".join(str(problem) for problem in sent)
        status = _status(row.code, message, [info, request])
        if status.ByteSize() <= MAX_DETAILS_BYTES:
            break
    return status


def _problems(
    request: error_details_pb2.BadRequest | None, info: error_details_pb2.ErrorInfo | None
) -> list[SuiteProblem]:
    if request is None or info is None:
        return []
    problems = []
    for index, violation in enumerate(request.field_violations):
        line = info.metadata.get(f"problem.{index}.line", "")
        problems.append(
            SuiteProblem(
                file=info.metadata.get(f"problem.{index}.file", ""),
                line=int(line) if line.isdigit() else None,
                field=violation.field,
                message=violation.description,
            )
        )
    return problems


def _details(error: grpc.RpcError) -> list[any_pb2.Any]:
    """The rich details of an Arena status; none when absent, inconsistent or foreign."""
    try:
        status = rpc_status.from_call(error)
    except (ValueError, AttributeError, TypeError):  # a proxy rewrote the status; not ours
        return []
    if status is None:
        return []
    return [
        detail
        for detail in status.details
        if not detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) or _ours(detail)
    ]


def _ours(detail: any_pb2.Any) -> bool:
    info = error_details_pb2.ErrorInfo()
    detail.Unpack(info)
    return bool(info.domain == DOMAIN)


def _first(details: Sequence[any_pb2.Any], kind: type[M]) -> M | None:
    for detail in details:
        if detail.Is(kind.DESCRIPTOR):
            message = kind()
            detail.Unpack(message)
            return message
    return None
