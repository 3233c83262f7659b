"""An engine's output: every line forwarded (to the controller as job logs), a tail kept here
so that a failure can say what the engine said last."""

import collections
import re
from collections.abc import Callable

LineSink = Callable[[str], None]

ERROR_LINE = re.compile(
    r"\b(?:ERROR|CRITICAL|FATAL|PANIC)\b"  # vLLM, SGLang, Go and C++ log levels
    r"|\[(?:error|critical) *\]"  # structlog's console renderer
    r"|^\s*(?:\w+\.)*\w*(?:Error|Exception):"  # the last line of a Python traceback
    r"|Error response from daemon|is not running|out of memory|Segmentation fault|Killed$"
)
"""A line at error level, whatever the engine's log format: the first one is the root cause a
failure names, however much chatter follows it (shutdown lines scroll it out of the tail)."""


class FirstError:
    """The first error-level line of a stream of lines (``ERROR_LINE``)."""

    def __init__(self) -> None:
        self.line: str | None = None

    def see(self, line: str) -> None:
        if self.line is None and ERROR_LINE.search(line):
            self.line = line.strip()[:500]

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
        """A failure reason, led by the engine's first error line (the root cause, which the
        tail may no longer hold), followed by the engine's last lines."""
        tail = self.tail(count)
        reason = self.first_error.lead(reason)
        if not tail:
            return reason
        return reason + "\n--- last engine log lines ---\n" + "\n".join(tail)
