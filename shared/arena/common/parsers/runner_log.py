"""``_runner.log``: the suite runner's own log, read only to say why a benchmark failed.

Each benchmark is framed by ``── START NN ──`` and ``── END NN (…) ──`` or ``── FAILED NN (…) ──``;
between them the runner writes its own remarks as ``K: …`` (the rest is the tool's output).
"""

import re

FRAME = re.compile(r"── (?P<what>START|END|FAILED) (?P<prefix>\d\d)\b")
REMARK = re.compile(r"^\[[^\]]*\]\s+K: (?P<text>.+)$")


def failure_reason(text: str, prefix: str) -> str | None:
    """The runner's last remark before ``FAILED <prefix>``, or ``None`` if it did not fail."""
    remarks: list[str] = []
    inside = False
    for line in text.splitlines():
        if frame := FRAME.search(line):
            if frame.group("prefix") != prefix:
                continue
            if frame.group("what") == "START":
                inside, remarks = True, []
            elif frame.group("what") == "FAILED":
                return remarks[-1] if remarks else f"the runner marked {prefix} FAILED"
            else:
                inside = False
        elif inside and (remark := REMARK.match(line)):
            remarks.append(remark.group("text").strip())
    return None
