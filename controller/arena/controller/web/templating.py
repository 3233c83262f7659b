"""Jinja2 templates, the filters that format numbers the way arenactl prints them, and the
store reader every route depends on."""

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from arena.common.views import TEMPLATES
from arena.common.views.listings import GLOBALS
from arena.common.views.view import MISSING, when
from arena.controller.web.reads import Reader

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=[HERE / "templates", TEMPLATES])


def reader(request: Request) -> Reader:
    """The store reader of the app serving ``request`` (a FastAPI dependency)."""
    reader: Reader = request.app.state.reader
    return reader


def num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def moment(unix: float | None) -> str:
    return MISSING if unix is None else when(unix)


def script_json(text: str) -> Markup:
    """JSON made safe inside ``<script type="application/json">``: no ``</`` can end it."""
    return Markup(text.replace("</", "<\\/"))


templates.env.filters.update(num=num, when=moment, script_json=script_json)
templates.env.globals.update(GLOBALS)
