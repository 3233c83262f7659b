"""One definition per listing (columns: header, value, format), rendered by every surface:
arenactl's rich tables and CSV/Markdown rows (``arena.client.views``) and the dashboard and
report pages through the one Jinja macro in ``templates/views.html`` (``TEMPLATES``)."""

from pathlib import Path

from arena.common.views.view import Cell, Column, View

TEMPLATES = Path(__file__).parent / "templates"
"""The macro file's directory: both Jinja environments load ``views.html`` from here."""

__all__ = ["TEMPLATES", "Cell", "Column", "View"]
