"""The Arena controller: stores suites, runs, jobs and samples, and schedules jobs to agents.

Its third-party packages are the ``controller`` extra (``pip install 'arena[controller]'``);
without them every import of the controller says so instead of failing on whichever module
comes first.
"""

from importlib.util import find_spec

_MISSING = [
    name
    for name in ("alembic", "fastapi", "jinja2", "orjson", "plotly", "prometheus_client", "uvicorn")
    if find_spec(name) is None
]
if _MISSING:
    raise ImportError(
        f"arena.controller needs the controller extra (missing: {', '.join(_MISSING)}): "
        "pip install 'arena[controller]'",
        name=_MISSING[0],
    )
