"""Incremental Server-Sent Events parser: raw bytes in, complete ``data`` payloads out.

Network reads cut events anywhere (inside a UTF-8 character, inside ``\\r\\n``), and one read can
hold several events; stripping or splitting reads by hand is how clients lose ``data:`` prefixes
(vllm PR #51172). This follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; ``data``
fields with or without the space after the colon; several ``data`` lines joined with ``\\n``;
comment lines (``: keep-alive``) and other fields ignored; a blank line dispatches the event.
``[DONE]`` is returned like any payload; recognising it is the caller's business.
"""

import codecs


class SSEParser:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._data_lines: list[str] = []
        self._skip_next_lf = False

    def feed(self, chunk: bytes) -> list[str]:
        """Payloads of every event completed by this chunk, in order."""
        return self._consume(self._decoder.decode(chunk))

    def close(self) -> list[str]:
        """End of stream: an event left without its closing blank line is still delivered."""
        events = self._consume(self._decoder.decode(b"", final=True))
        if self._pending:
            self._line(self._pending)
            self._pending = ""
        if self._data_lines:
            events.append("\n".join(self._data_lines))
            self._data_lines = []
        return events

    def _consume(self, text: str) -> list[str]:
        if self._skip_next_lf and text:
            if text.startswith("\n"):
                text = text[1:]
            self._skip_next_lf = False
        buffer = self._pending + text
        events: list[str] = []
        start = 0
        length = len(buffer)
        index = 0
        while index < length:
            char = buffer[index]
            if char not in "\r\n":
                index += 1
                continue
            event = self._line(buffer[start:index])
            if event is not None:
                events.append(event)
            if char == "\r":
                if index + 1 < length:
                    if buffer[index + 1] == "\n":
                        index += 1
                else:
                    self._skip_next_lf = True
            index += 1
            start = index
        self._pending = buffer[start:]
        return events

    def _line(self, line: str) -> str | None:
        """Apply one line; return the event payload when the line dispatches one."""
        if not line:
            if not self._data_lines:
                return None
            event = "\n".join(self._data_lines)
            self._data_lines = []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data_lines.append(value[1:] if value.startswith(" ") else value)
        return None
