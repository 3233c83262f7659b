"""Jinja2 templates, the filters that format numbers the way arenactl prints them, and the
store reader every route depends on."""

import time
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from arena.common.schemas.agent import AgentStatus
from arena.common.schemas.job import JobState
from arena.common.schemas.results import MetricStat
from arena.controller.web.reads import Reader

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")


def reader(request: Request) -> Reader:
    """The store reader of the app serving ``request`` (a FastAPI dependency)."""
    reader: Reader = request.app.state.reader
    return reader


def num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def stat(value: MetricStat | None, digits: int = 2) -> str:
    """``mean ± std`` (the std only over more than one value), as ``arenactl show`` prints."""
    if value is None or value.mean is None:
        return "—"
    if value.n > 1 and value.std is not None:
        return f"{value.mean:,.{digits}f} ± {value.std:,.{digits}f}"
    return f"{value.mean:,.{digits}f}"


def compared(value: MetricStat | None) -> str:
    """A compared value as ``arenactl compare`` prints it: four significant digits under 1
    (J/token), two decimals otherwise, the std styled like its mean."""
    if value is None or value.mean is None:
        return "—"
    style = "{:,.4g}" if abs(value.mean) < 1 else "{:,.2f}"
    text = style.format(value.mean)
    if value.n > 1 and value.std is not None:
        text += " ± " + style.format(value.std)
    return text


def when(unix: float | None) -> str:
    if unix is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(unix))


def script_json(text: str) -> Markup:
    """JSON made safe inside ``<script type="application/json">``: no ``</`` can end it."""
    return Markup(text.replace("</", "<\\/"))


templates.env.filters.update(
    num=num, stat=stat, compared=compared, when=when, script_json=script_json
)
templates.env.globals.update(AgentStatus=AgentStatus, JobState=JobState)
