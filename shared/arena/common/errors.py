"""Arena's exceptions: one tree, so callers can catch as broadly or as narrowly as they need.

    ArenaError
    ├── SuiteError ········ a suite file is unreadable, invalid or names unknown things
    ├── InvalidRequestError  a request is malformed or breaks a limit (not a suite problem)
    │   └── TooLargeError ·· a message or a request count is past a configured cap
    ├── RateLimitedError ·· an agent called faster than its rate limit; retry after a delay
    ├── AuthError ········· a token is missing, wrong, expired or revoked
    │   └── PermissionDeniedError  a known caller asked for what it may not do
    ├── NotFoundError ····· an agent, job, run or result does not exist
    ├── ConflictError ····· a write lost a race (stale attempt, state already moved on)
    ├── UnavailableError ·· the controller cannot be reached right now; retrying may help
    │   └── CertificateRefusedError  the controller ended TLS over this client's certificate
    ├── EngineError ······· an inference engine failed to start, answer or stay up
    ├── PolicyError ······· the agent's owner does not allow what a job asks, or the policy
    │                       file itself is unreadable (agent-side only: it never crosses gRPC)
    └── InternalError ····· the controller failed on a bug of its own, not on the caller's input

Foreign errors (pydantic, PyYAML, gRPC, HTTP) are translated into these where they enter Arena;
arena.common.status carries each class across gRPC and back.
"""

from collections.abc import Sequence
from dataclasses import dataclass


class ArenaError(Exception):
    """Base of every error Arena raises on purpose."""

    retry_after_s: float = 0.0
    """The least wait before the same call may succeed (for the retryable ones)."""


@dataclass(frozen=True)
class SuiteProblem:
    """One thing wrong in a suite file, located as precisely as the file allows."""

    file: str
    line: int | None
    """1-based line of the offending node, or None when the file has no usable position."""
    field: str
    """Dotted path to the offending value, e.g. ``benchmarks[2].request_rate[0]``; may be empty."""
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return ": ".join(part for part in (where, self.field, self.message) if part)


class SuiteError(ArenaError):
    """A suite file problem. ``errors`` lists every problem found; the attributes name the first."""

    def __init__(
        self,
        file: str,
        line: int | None,
        field: str,
        message: str,
        *,
        errors: Sequence[SuiteProblem] = (),
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        self.errors = list(errors) or [SuiteProblem(file, line, field, message)]
        super().__init__("\n".join(str(problem) for problem in self.errors))

    @classmethod
    def from_problems(cls, problems: Sequence[SuiteProblem]) -> "SuiteError":
        if not problems:
            raise ValueError("a SuiteError needs at least one problem")
        first = problems[0]
        return cls(first.file, first.line, first.field, first.message, errors=problems)


class InvalidRequestError(ArenaError):
    """A request the controller cannot accept: a field missing or unparsable, a batch too big."""


class TooLargeError(InvalidRequestError):
    """A message past its method's size cap: sending the same message again cannot succeed."""


class RateLimitedError(ArenaError):
    """A caller past its rate limit; the same call succeeds after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AuthError(ArenaError):
    """A caller could not prove who it is, or may not do what it asked."""


class PermissionDeniedError(AuthError):
    """The caller is known, but its role or identity does not allow this call: another
    agent's name or job, a viewer submitting, a submitter cancelling someone else's run."""


class NotFoundError(ArenaError):
    """The named agent, job, run or result does not exist."""


class ConflictError(ArenaError):
    """A write refers to a state that has moved on, e.g. a stale job attempt."""


class UnavailableError(ArenaError):
    """The other side cannot be reached right now (network, restart); retrying may help."""


class CertificateRefusedError(UnavailableError):
    """The controller ended the TLS handshake over this client's certificate: missing, from
    another CA, expired. Only the agent's operator or the controller's (its --tls-client-ca)
    can fix it, so a retry comes slowly; it is still retried, because a fleet whose controller
    had the wrong CA recovers by itself once the controller is fixed (and a service manager
    would restart an agent that stopped anyway)."""

    retry_after_s = 60.0


class EngineError(ArenaError):
    """An inference engine failed to start, to become healthy, or to keep serving."""


class PolicyError(ArenaError):
    """The agent's policy refuses a job (the message says what and why), or cannot be read."""


class InternalError(ArenaError):
    """The controller hit a bug of its own. ``incident`` names the controller log line that
    holds the traceback, so a user can report it without being told their input was bad."""

    def __init__(self, message: str, incident: str = "") -> None:
        super().__init__(message)
        self.incident = incident
