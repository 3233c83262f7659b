"""Every listing by name, for the page templates (``views.ranking``)."""

from typing import Any

from arena.common.views.frontier import CAPACITY, PARETO
from arena.common.views.rank import NOT_RANKED, RANKING
from arena.common.views.view import View

VIEWS: dict[str, View[Any]] = {view.name: view for view in (RANKING, NOT_RANKED, PARETO, CAPACITY)}
