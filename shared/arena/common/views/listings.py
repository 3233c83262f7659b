"""Every listing by name, the metric catalogue and the shared words, for the page templates
(``views.ranking``, ``metrics.output_tps``, ``compared(stat)``, ``spread(pct)``,
``JobState.RUNNING``): both Jinja environments add ``GLOBALS``."""

from typing import Any

from arena.common.metrics.catalogue import CATALOGUE
from arena.common.schemas.agent import AgentStatus
from arena.common.schemas.job import JobState
from arena.common.views.agentic import CACHE, cache_line, capacity_lines
from arena.common.views.agents import AGENTS
from arena.common.views.compare import compared, spread
from arena.common.views.frontier import AGENT_CAPACITY, CAPACITY, PARETO, agent_notes
from arena.common.views.jobs import JOBS
from arena.common.views.rank import NOT_RANKED, RANKING
from arena.common.views.results import RESULTS, TURNS, results_for, results_of
from arena.common.views.runs import RUNS
from arena.common.views.view import View

LISTINGS: list[View[Any]] = [
    AGENTS,
    JOBS,
    RANKING,
    NOT_RANKED,
    PARETO,
    CAPACITY,
    AGENT_CAPACITY,
    CACHE,
    RUNS,
    *RESULTS.values(),
    TURNS,
]
VIEWS: dict[str, View[Any]] = {view.name: view for view in LISTINGS}

GLOBALS: dict[str, Any] = {
    "views": VIEWS,
    "metrics": CATALOGUE,
    "compared": compared,
    "spread": spread,
    "results_of": results_of,
    "results_for": results_for,
    "cache_line": cache_line,
    "capacity_lines": capacity_lines,
    "agent_notes": agent_notes,
    "AgentStatus": AgentStatus,
    "JobState": JobState,
}
