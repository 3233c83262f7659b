"""The reference tools (llama-benchy, vllm bench serve) as load generators the agent runs."""

from arena.agent.tools.base import ToolContext, ToolDriver, ToolError, ToolOutcome
from arena.agent.tools.llama_benchy import LlamaBenchyDriver
from arena.agent.tools.vllm_bench import VllmBenchDriver

DRIVERS: dict[str, ToolDriver] = {
    driver.name: driver for driver in (LlamaBenchyDriver(), VllmBenchDriver())
}


def driver_for(tool: str) -> ToolDriver:
    if tool not in DRIVERS:
        raise ToolError(f"unknown tool {tool!r}; known: {', '.join(sorted(DRIVERS))}")
    return DRIVERS[tool]


__all__ = ["DRIVERS", "ToolContext", "ToolError", "ToolOutcome", "driver_for"]
