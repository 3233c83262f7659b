"""An engine's output: every line forwarded (to the controller as job logs), a tail kept here
so that a failure can say what the engine said last."""

import collections
import re
from collections.abc import Callable

LineSink = Callable[[str], None]

_PREFIX = (
    r"^\s*(?:\x1b\[[0-9;]*m)*"  # colour codes
    r"(?:\([^)]*\)\s*(?:\x1b\[[0-9;]*m)*\s*)?"  # vLLM's "(EngineCore_0 pid=7)"
    r"(?:\[?\d{2,4}[-/]\d{2}[-/]\d{2,4}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"  # a timestamp
    r"(?:Z|[+-]\d{2}:?\d{2})?\]?\s*)?"
)
ERROR_LINE = re.compile(
    _PREFIX + r"(?:(?:ERROR|CRITICAL|FATAL|PANIC)\b"  # vLLM, SGLang, Go, Python logging levels
    r"|\[(?:error|critical) *\])"  # structlog's console renderer
    r"|\blevel=(?i:error|fatal|panic|critical)\b"  # logfmt (Go's slog, logrus)
    r"|^\s*(?:\w+\.)*\w*(?:Error|Exception):"  # the last line of a Python traceback
    r"|^(?:Error response from daemon|Segmentation fault|Killed$)"  # docker CLI, the shell
)
"""A line at error level, whatever the engine's log format: the level word where the level
sits (line start, after a timestamp or a process tag), never in a message's text, where an
INFO line may quote a prompt; free text only for unstructured lines (a traceback's last line,
the docker CLI's and the shell's own words) at their start."""
HARMLESS = re.compile(r"CancelledError|Exception in ASGI application|client disconnected")
"""Error-level lines an engine writes when a client hangs up (asyncio's cancellation, uvicorn's
ASGI wrapper): a benchmark's own timeouts cause them, no engine failure does."""
RECENT_LINES = 100
"""A failure is led by an error line at most this many lines before it: an older one (a client
that hung up an hour ago) did not cause it."""


def is_error(line: str) -> bool:
    return ERROR_LINE.search(line) is not None and HARMLESS.search(line) is None


class FirstError:
    """The first error-level line (``is_error``) among the last ``RECENT_LINES`` lines of a
    stream: the root cause a failure names, however much chatter follows it (shutdown lines
    scroll it out of the tail), and no older error than that."""

    def __init__(self, recent: int = RECENT_LINES) -> None:
        self._recent = recent
        self._seen = 0
        self._errors: collections.deque[tuple[int, str]] = collections.deque()

    def see(self, line: str) -> None:
        self._seen += 1
        if is_error(line):
            self._errors.append((self._seen, line.strip()[:500]))
        while self._errors and self._errors[0][0] <= self._seen - self._recent:
            self._errors.popleft()

    @property
    def line(self) -> str | None:
        return self._errors[0][1] if self._errors else None

    def lead(self, reason: str) -> str:
        """``reason`` led by the root cause, when there is one it does not already quote."""
        if self.line is None or self.line in reason:
            return reason
        return f"{self.line} ({reason})"


class EngineLog:
    def __init__(
        self,
        forward: LineSink | None = None,
        keep: int = 200,
        redact: Callable[[str], str] = str,
    ) -> None:
        """``redact`` is applied to each line before it is kept or forwarded: the job's secret
        values never sit in a failure message or the job log."""
        self._lines: collections.deque[str] = collections.deque(maxlen=keep)
        self._forward = forward
        self._redact = redact
        self.first_error = FirstError()

    def append(self, line: str) -> None:
        line = self._redact(line.rstrip("\r\n"))
        self._lines.append(line)
        self.first_error.see(line)
        if self._forward is not None:
            self._forward(line)

    def tail(self, count: int = 20) -> list[str]:
        return list(self._lines)[-count:]

    def explain(self, reason: str, count: int = 20) -> str:
        """A failure reason, led by the engine's first recent error line (the root cause, which
        the tail may no longer hold), followed by the engine's last lines."""
        tail = self.tail(count)
        reason = self.first_error.lead(reason)
        if not tail:
            return reason
        return reason + "\n--- last engine log lines ---\n" + "\n".join(tail)
