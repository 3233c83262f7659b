"""The Arena controller: stores suites, runs, jobs and samples, and schedules jobs to agents.

Its third-party packages are the ``controller`` extra (``pip install 'arena[controller]'``);
without them every import of the controller says so instead of failing on whichever module
comes first.
"""

from arena.common.extras import require_extra

require_extra(
    "arena.controller",
    "controller",
    ("alembic", "fastapi", "jinja2", "orjson", "plotly", "prometheus_client", "uvicorn"),
)
