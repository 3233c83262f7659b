"""The HTML file: the Jinja2 template (autoescaped) with plotly.js inlined once and every
figure as JSON beside its slot, so the page opens offline and draws each figure as it scrolls
into view."""

import base64
import json
import time
from collections.abc import Sequence
from pathlib import Path

import jinja2
import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from arena.client.report.build import Report
from arena.common.analysis.capacity import LIMITS_MS
from arena.common.views import TEMPLATES
from arena.common.views.listings import GLOBALS

_ENV = jinja2.Environment(
    loader=jinja2.ChoiceLoader(
        [
            jinja2.PackageLoader("arena.client.report", "templates"),
            jinja2.FileSystemLoader(TEMPLATES),
        ]
    ),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def num(value: float | None, digits: int = 1) -> str:
    """A table cell's text: fixed digits, thousands separated, ``—`` when absent."""
    return "—" if value is None else f"{value:,.{digits}f}"


_ENV.filters["num"] = num
_ENV.globals.update(GLOBALS)


def figure_json(report: Report) -> dict[str, str]:
    """Per figure anchor, the figure as JSON safe inside a ``<script>`` element."""
    slots = [*report.throughput, *report.latency, *report.telemetry]
    slots += [*report.turn_ttft, *report.attainment]
    slots += [
        slot
        for slot in (report.pareto, report.capacity, report.agent_capacity_bars)
        if slot is not None
    ]
    return {slot.anchor: to_json(slot.figure).replace("</", "<\\/") for slot in slots}


def to_json(figure: go.Figure) -> str:
    """The figure as plotly.js reads it, numpy arrays as typed arrays (base64).

    What ``plotly.io.to_json`` writes, made directly: plotly's own path inspects every value of
    the figure through a dataframe layer to find the arrays, which took most of the page's
    writing time; the builders (``arena.common.figures``) put every long series in a numpy
    array already."""
    plain = {
        "data": [trace.to_plotly_json() for trace in figure.data],
        "layout": figure.layout.to_plotly_json(),
    }
    return json.dumps(plain, default=_typed_array, allow_nan=False, separators=(",", ":"))


def _typed_array(value: object) -> dict[str, str]:
    if isinstance(value, np.ndarray):
        floats = value.astype("<f8", copy=False)  # plotly.js has no 64-bit integer arrays
        return {"dtype": "f8", "bdata": base64.b64encode(floats.tobytes()).decode("ascii")}
    raise TypeError(f"cannot write {type(value).__name__} into a figure")


def render(report: Report, command: Sequence[str], generated_at: float | None = None) -> str:
    """The whole page as text."""
    return _ENV.get_template("report.html.j2").render(
        report=report,
        data=report.data,
        command=" ".join(command),
        generated=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(generated_at)),
        figures=figure_json(report),
        plotly_js=get_plotlyjs(),
        limits=[float(limit) for limit in LIMITS_MS],
        anchors=report.job_anchor,
    )


def write(report: Report, path: Path, command: Sequence[str]) -> int:
    """Write the page; returns its size in bytes."""
    text = render(report, command)
    path.write_text(text, encoding="utf-8")
    return len(text.encode())
