"""The simulated engine's own counters and their ``GET /metrics`` page (Prometheus text format).

Six samples do not justify a dependency: the agent extra has no prometheus-client, so the
page is written here. Names follow vLLM's (``<engine>:<what>_total``) so the agent's probe
reads every engine the same way.
"""

from dataclasses import dataclass

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(slots=True)
class EngineCounters:
    """Totals since the engine started (never reset, as Prometheus counters must not be)."""

    prompt_tokens: int = 0
    """Prompt tokens of every request admitted to the batch."""
    generation_tokens: int = 0
    prefix_cache_queries: int = 0
    """Prompt tokens of requests admitted while the engine's prefix cache is on, including
    requests that opted out with ``cache_prompt: false`` (a query that hits nothing, as
    llama.cpp counts them)."""
    prefix_cache_hits: int = 0
    """Prompt tokens served from the cache (the requests' ``cached_tokens``)."""
    generation_seconds: float = 0.0
    """Decode time summed over sequences: each step's length once per token it emitted, as
    llama.cpp's ``tokens_predicted_seconds_total``; ÷ ``generation_tokens`` is the engine's
    own time per output token."""


_COUNTERS = (
    ("prompt_tokens", "Prompt tokens admitted."),
    ("generation_tokens", "Tokens generated."),
    ("prefix_cache_queries", "Prompt tokens looked up in the prefix cache."),
    ("prefix_cache_hits", "Prompt tokens served from the prefix cache."),
    ("generation_seconds", "Decode step time per emitted token (prefill left out), summed."),
)


def exposition(counters: EngineCounters, cached_blocks: int) -> str:
    """The ``/metrics`` page: the counters and the blocks the cache holds now."""
    lines: list[str] = []
    for field, help_text in _COUNTERS:
        name = f"arena_sim:{field}_total"
        lines += (
            f"# HELP {name} {help_text}",
            f"# TYPE {name} counter",
            f"{name} {getattr(counters, field)}",
        )
    lines += (
        "# HELP arena_sim:prefix_cache_blocks Blocks the prefix cache holds.",
        "# TYPE arena_sim:prefix_cache_blocks gauge",
        f"arena_sim:prefix_cache_blocks {cached_blocks}",
    )
    return "\n".join(lines) + "\n"
