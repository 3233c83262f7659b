"""The engine's own time per output token for each measured run (``RunBounds``).

Its metrics endpoint is read just before and just after each run; the two scrapes' difference
is the run's engine-side work (``probe.engine_figures``). Nothing else runs between the two
reads, so the figure is the run's own. It lands in the job's provenance
(``arena.common.metrics.engine_runs``), where the controller reads it into the run's metrics.
"""

from typing import Any

from arena.agent.engines.probe import engine_figures, engine_tpot_ms, scrape_metrics
from arena.common.metrics.engine_runs import put_engine_run


class EngineRunTimings:
    def __init__(
        self, base_url: str, api_key: str | None, provenance: dict[str, Any], benchmark: str
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.provenance = provenance
        self.benchmark = benchmark
        self._before: dict[str, float] | None = None

    async def started(self, variant: str, run: int) -> None:
        self._before = await scrape_metrics(self.base_url, self.api_key)

    async def finished(self, variant: str, run: int) -> None:
        before, self._before = self._before, None
        after = await scrape_metrics(self.base_url, self.api_key)
        if before is None or after is None:
            return
        tpot = engine_tpot_ms(engine_figures(before, after))
        if tpot is not None:
            put_engine_run(self.provenance, self.benchmark, variant, run, {"engine_tpot_ms": tpot})
