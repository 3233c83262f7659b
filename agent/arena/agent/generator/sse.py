"""Incremental Server-Sent Events parser: raw bytes in, complete ``data`` payloads out.

Network reads cut events anywhere (inside a UTF-8 character, inside ``\\r\\n``), and one read can
hold several events; stripping or splitting reads by hand is how clients lose ``data:`` prefixes
(vllm PR #51172). This follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; ``data``
fields with or without the space after the colon; several ``data`` lines joined with ``\\n``;
comment lines (``: keep-alive``) and other fields ignored; a blank line dispatches the event.
``[DONE]`` is returned like any payload; recognising it is the caller's business.

Speed: this runs for every network read of every request, so lines are cut with ``str.split``
(C speed) rather than walked character by character; CR and CRLF are first folded into LF.
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
            self._data_lines.clear()
        return events

    def _consume(self, text: str) -> list[str]:
        if not text:
            return []
        if self._skip_next_lf:  # the previous read ended on CR: an LF here is its CRLF's half
            self._skip_next_lf = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" in text:
            self._skip_next_lf = text.endswith("\r")
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        events: list[str] = []
        data = self._data_lines
        for line in lines:  # _line, inlined for the two common cases: a data line, a blank one
            if line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif not line:
                if data:
                    events.append("\n".join(data))
                    data.clear()
            else:
                self._line(line)
        return events

    def _line(self, line: str) -> str | None:
        """Apply one line; return the event payload when the line dispatches one."""
        if not line:
            if not self._data_lines:
                return None
            event = "\n".join(self._data_lines)
            self._data_lines.clear()
            return event
        if line.startswith("data:"):
            value = line[5:]
            self._data_lines.append(value[1:] if value.startswith(" ") else value)
        elif line == "data":
            self._data_lines.append("")
        return None
