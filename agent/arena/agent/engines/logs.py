"""An engine's output: every line forwarded (to the controller as job logs), a tail kept here
so that a failure can say what the engine said last."""

import collections
from collections.abc import Callable

LineSink = Callable[[str], None]


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

    def append(self, line: str) -> None:
        line = self._redact(line.rstrip("\r\n"))
        self._lines.append(line)
        if self._forward is not None:
            self._forward(line)

    def tail(self, count: int = 20) -> list[str]:
        return list(self._lines)[-count:]

    def explain(self, reason: str, count: int = 20) -> str:
        """A failure reason followed by the engine's last lines."""
        tail = self.tail(count)
        if not tail:
            return reason
        return reason + "\n--- last engine log lines ---\n" + "\n".join(tail)
