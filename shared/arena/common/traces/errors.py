"""The one error a trace file raises: where (file:line) and what is wrong."""

from arena.common.errors import InvalidRequestError


class TraceError(InvalidRequestError):
    """A trace file that cannot be read as given: unreadable, too large, or a line that breaks
    the format. ``line`` is 1-based; ``None`` when the problem is the whole file."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}")
