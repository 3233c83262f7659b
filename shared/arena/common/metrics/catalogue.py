"""Every metric Arena shows, defined once: its key, label, unit, which way is better, how many
decimals it is shown with, which benchmark kind measures it, and what it means.

Tables, CSV/Markdown headers, the dashboard and the report read labels, units and order from
here (``HEADLINE`` for ``arenactl show``; ``arena.common.views`` for the listings), so a metric
is added or renamed in one place.
"""

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from arena.common.metrics.sessions import TURN_BUCKETS

Kind = Literal["open_loop", "closed_loop", "sessions"]


class Better(StrEnum):
    """Which way a metric improves."""

    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"
    """A count or a setting: neither more nor less is better."""


@dataclass(frozen=True)
class Metric:
    key: str
    """The key in stored metrics (or the field name of an analysis row)."""
    label: str
    unit: str
    better: Better
    digits: int
    """Decimals shown in listings."""
    kind: Kind | None
    """The benchmark kind that measures it; ``None``: several kinds measure it (``completed``,
    ``cache_hit_pct``) or it is derived across kinds (rank, energy)."""
    description: str

    def text(self, value: float | None) -> str:
        """``value`` as listings show it: ``digits`` decimals, thousands separated, ``—``
        when absent."""
        return "—" if value is None else f"{value:,.{self.digits}f}"

    @property
    def header(self) -> str:
        """A listing's column header: ``label unit``, or the label alone where it names its
        unit (``out tok/s per W``)."""
        return self.label if self.unit in self.label else f"{self.label} {self.unit}"


H, L, N = Better.HIGHER, Better.LOWER, Better.NEITHER
OPEN: Kind = "open_loop"
CLOSED: Kind = "closed_loop"
SESSIONS: Kind = "sessions"

METRICS: tuple[Metric, ...] = (
    # open loop: vLLM ``bench serve``'s keys and meanings
    Metric("completed", "done", "req", N, 0, None, "Requests that succeeded."),
    Metric("failed", "failed", "req", N, 0, None, "Requests that failed (error or no end)."),
    Metric("request_throughput", "req/s", "req/s", H, 2, OPEN, "Completed requests per second."),
    Metric(
        "output_throughput",
        "out tok/s",
        "tok/s",
        H,
        1,
        None,
        "Output tokens per second of wall time, prefill included: open loop over the "
        "benchmark's duration (vLLM's), closed loop over the batch's first send → last "
        "completion (Arena's).",
    ),
    Metric("median_ttft_ms", "TTFT p50", "ms", L, 1, OPEN, "Median time to first token."),
    Metric("p95_ttft_ms", "TTFT p95", "ms", L, 1, OPEN, "95th percentile time to first token."),
    Metric("p99_ttft_ms", "TTFT p99", "ms", L, 1, OPEN, "99th percentile time to first token."),
    Metric(
        "mean_ttfc_ms",
        "TTFC mean",
        "ms",
        L,
        1,
        OPEN,
        "Mean time to first content: the first chunk of the answer itself (content or a tool "
        "call), after any reasoning; TTFT counts the first token of any channel.",
    ),
    Metric("median_ttfc_ms", "TTFC p50", "ms", L, 1, OPEN, "Median time to first content."),
    Metric("p95_ttfc_ms", "TTFC p95", "ms", L, 1, OPEN, "95th percentile time to first content."),
    Metric("p99_ttfc_ms", "TTFC p99", "ms", L, 1, OPEN, "99th percentile time to first content."),
    Metric("median_tpot_ms", "TPOT p50", "ms", L, 2, OPEN, "Median time per output token."),
    Metric("median_itl_ms", "ITL p50", "ms", L, 2, OPEN, "Median gap between output chunks."),
    Metric("median_e2el_ms", "E2EL p50", "ms", L, 1, OPEN, "Median end-to-end latency."),
    Metric(
        "max_concurrent_requests", "max conc", "req", N, 0, OPEN, "Most requests in flight at once."
    ),
    Metric(
        "oversaturated",
        "over-saturated",
        "",
        L,
        2,
        OPEN,
        "1 when requests in flight and TTFT kept growing through the run (no steady state: "
        "metrics.oversaturation); the mean over runs is the share of runs so judged.",
    ),
    # closed loop: llama-benchy's keys and meanings (arena.common.metrics.closed_loop)
    Metric("pp_throughput", "pp t/s", "tok/s", H, 1, CLOSED, "Prefill tokens/s of the batch."),
    Metric("pp_req_throughput", "pp t/s (req)", "tok/s", H, 1, CLOSED, "Prefill tokens/s."),
    Metric("tg_throughput", "tg t/s", "tok/s", H, 1, CLOSED, "Decode tokens/s of the batch."),
    Metric(
        "tg_req_throughput", "tg t/s (req)", "tok/s", H, 1, CLOSED, "Decode tokens/s per request."
    ),
    Metric("peak_throughput", "peak t/s", "tok/s", H, 1, CLOSED, "Peak 1 s token rate (batch)."),
    Metric("peak_req_throughput", "peak t/s (req)", "tok/s", H, 1, CLOSED, "Peak 1 s token rate."),
    Metric("ttfr", "ttfr", "ms", L, 1, CLOSED, "Time to the first response chunk."),
    Metric("est_ppt", "est_ppt", "ms", L, 1, CLOSED, "Estimated prompt processing time."),
    Metric("e2e_ttft", "e2e_ttft", "ms", L, 1, CLOSED, "Time to the first generated token."),
    Metric(
        "e2e_ttfc",
        "e2e_ttfc",
        "ms",
        L,
        1,
        CLOSED,
        "Time to the first answer content (after any reasoning); e2e_ttft counts reasoning.",
    ),
    # output tokens and reasoning, every kind (arena.common.metrics.tokens)
    Metric(
        "mean_reasoning_tokens",
        "reasoning",
        "tokens",
        N,
        1,
        None,
        "Mean output tokens per request in the reasoning channel (usage's reasoning_tokens, "
        "else the tokenizer's count of the streamed reasoning, else one per reasoning chunk).",
    ),
    Metric(
        "reasoning_first",
        "reasoning first",
        "req",
        N,
        0,
        None,
        "Requests whose first token was reasoning, before any answer content: their TTFT is "
        "the first reasoning token, their TTFC the first answer token.",
    ),
    Metric(
        "token_mismatch_pct",
        "usage mismatch",
        "%",
        L,
        2,
        None,
        "|usage.completion_tokens − the tokenizer's count of the streamed answer| summed over "
        "requests with both, % of the counted tokens. Metrics use the counted tokens.",
    ),
    Metric(
        "usage_over_max",
        "usage > max_tokens",
        "req",
        L,
        0,
        None,
        "Requests whose usage reported more output tokens than their max_tokens allowed "
        "(kept, and flagged).",
    ),
    # any kind whose engine reports cached prompt tokens (arena.common.metrics.sessions)
    Metric(
        "cache_hit_pct",
        "cache hit",
        "%",
        N,
        1,
        None,
        "Prompt tokens the engine served from its prefix cache, % of the prompt tokens of the "
        "requests that reported both (usage.prompt_tokens_details.cached_tokens).",
    ),
    # sessions: multi-turn agents, chats, RAG (arena.common.metrics.sessions)
    Metric(
        "load",
        "load",
        "",
        N,
        2,
        SESSIONS,
        "The step's load: concurrent users (u4) or sessions started per second (srate0.5).",
    ),
    Metric(
        "sessions",
        "sessions",
        "",
        N,
        0,
        SESSIONS,
        "Root sessions that sent a turn in the run (sub-agents count with their root).",
    ),
    Metric("turns", "turns", "req", N, 0, SESSIONS, "Requests sent: every turn, sub-agents' too."),
    Metric(
        "ttft_first_mean_ms",
        "TTFT 1st turn",
        "ms",
        L,
        1,
        SESSIONS,
        "Mean time to first token of root sessions' first turns (only a shared prefix can be "
        "cached).",
    ),
    Metric(
        "ttft_first_p95_ms",
        "TTFT 1st turn p95",
        "ms",
        L,
        1,
        SESSIONS,
        "95th percentile time to first token of root sessions' first turns.",
    ),
    Metric(
        "ttft_later_mean_ms",
        "TTFT later turns",
        "ms",
        L,
        1,
        SESSIONS,
        "Mean time to first token of every other turn: later turns and sub-agents' turns, "
        "whose conversation so far may come from the cache.",
    ),
    Metric(
        "ttft_later_p95_ms",
        "TTFT later p95",
        "ms",
        L,
        1,
        SESSIONS,
        "95th percentile time to first token of later turns and sub-agents' turns.",
    ),
    Metric(
        "session_time_mean_s",
        "session time",
        "s",
        L,
        1,
        SESSIONS,
        "Mean time from a root session's first scheduled send to the end of its last answer, "
        "sub-agents included (think and tool time too), over completed sessions only (every "
        "turn succeeded).",
    ),
    Metric(
        "session_time_p95_s",
        "session time p95",
        "s",
        L,
        1,
        SESSIONS,
        "95th percentile session time, over completed sessions only.",
    ),
    Metric(
        "session_output_tps_mean",
        "tok/s per session",
        "tok/s",
        H,
        1,
        SESSIONS,
        "Mean over completed sessions of its output tokens / the time it spent generating "
        "(the union of its turns' first token to last output chunk spans, so parallel "
        "sub-agents add up).",
    ),
    *(
        Metric(
            key,
            f"TTFT turn {label}",
            "ms",
            L,
            1,
            SESSIONS,
            f"Median time to first token of root sessions' turn {label} (counted from 1).",
        )
        for label, key, _first, _last in TURN_BUCKETS
    ),
    # energy (arena.common.metrics.energy)
    Metric(
        "joules_per_output_token",
        "energy/token",
        "J/token",
        L,
        4,
        None,
        "GPU energy over the benchmark window per output token.",
    ),
    # capacity and Pareto (arena.common.analysis.capacity, .pareto): fields of their rows
    Metric("limit_s", "p95 TTFT under", "s", N, 0, OPEN, "The p95 TTFT limit of a capacity row."),
    Metric("configured_rps", "rate", "req/s", H, 2, OPEN, "Highest sweep rate under the limit."),
    Metric("achieved_rps", "achieved", "req/s", H, 3, OPEN, "Rate achieved at that step."),
    Metric("output_tps", "out tok/s", "tok/s", H, 1, None, "Total output tokens/s."),
    Metric("user_tps", "tok/s per user", "tok/s", H, 1, None, "Tokens/s one request sees."),
    Metric("gpus", "GPUs", "", N, 0, None, "GPUs the job ran on (1 for a CPU)."),
    Metric(
        "output_tps_per_gpu", "out tok/s per GPU", "tok/s", H, 1, None, "Output tokens/s per GPU."
    ),
    Metric("mean_power_w", "mean", "W", L, 1, None, "Mean power over the benchmark window."),
    Metric("output_tps_per_w", "out tok/s per W", "tok/s", H, 3, None, "Output tokens/s per watt."),
    # agent capacity (arena.common.analysis.agent_capacity): fields of its rows
    Metric(
        "target_pct",
        "target",
        "%",
        N,
        0,
        SESSIONS,
        "Share of a load step's sessions that must meet the tier for the step to pass.",
    ),
    Metric(
        "capacity",
        "capacity",
        "",
        H,
        2,
        SESSIONS,
        "Largest measured load step (concurrent agents, or sessions/s) whose sessions met the "
        "tier at the target share; no interpolation between steps.",
    ),
    Metric("capacity_per_gpu", "per GPU", "", H, 2, SESSIONS, "Capacity / GPUs of the job."),
    Metric(
        "capacity_per_kw",
        "per kW",
        "",
        H,
        2,
        SESSIONS,
        "Capacity / the benchmark's mean GPU power in kW.",
    ),
    # the engine's own prefix-cache counters (BenchmarkResult.engine_metrics)
    Metric(
        "prefix_cache_hit_pct",
        "engine cache hit",
        "%",
        N,
        1,
        None,
        "Prompt tokens the engine served from its prefix cache, % of those it looked up, from "
        "its own counters over the whole benchmark.",
    ),
    Metric(
        "prefix_cache_queries",
        "looked up",
        "tokens",
        N,
        0,
        None,
        "Prompt tokens the engine looked up in its prefix cache over the benchmark.",
    ),
    # the box and the engine per run (arena.common.metrics.box, metrics.engine_runs)
    Metric(
        "sm_clock_mhz",
        "SM clock",
        "MHz",
        N,
        0,
        None,
        "Median SM clock of the GPUs' NVML readings during the run.",
    ),
    Metric(
        "sm_clock_min_mhz",
        "min SM clock",
        "MHz",
        N,
        0,
        None,
        "Lowest SM clock read during the run.",
    ),
    Metric(
        "sm_clock_drop_pct",
        "SM clock drop",
        "%",
        L,
        1,
        None,
        "How far the run's median SM clock sat below the benchmark's fastest run's, in %; "
        "a run more than 5 % below is flagged.",
    ),
    Metric(
        "gpu_temp_max_c",
        "max GPU temp",
        "°C",
        L,
        0,
        None,
        "Hottest GPU temperature read during the run.",
    ),
    Metric(
        "gpu_power_mean_w",
        "GPU power",
        "W",
        N,
        0,
        None,
        "Mean of the GPUs' summed power over the run's readings.",
    ),
    Metric(
        "throttled_runs",
        "throttled runs",
        "",
        L,
        0,
        None,
        "Runs during which NVML reported a thermal or power throttle reason (a run: 1 or 0; "
        "a variant: the share of its runs, so mean × n is their count).",
    ),
    Metric(
        "engine_tpot_ms",
        "engine TPOT",
        "ms",
        L,
        2,
        None,
        "The engine's own time per output token from its metrics endpoint, read around each "
        "run (vLLM's TPOT or inter-token histograms, llama.cpp's generation seconds ÷ tokens).",
    ),
    # rank (arena.common.analysis.rank)
    Metric("score", "score", "", H, 1, None, "wQ·Q + wG·G + wE·E over min-max scaled 0–100."),
    Metric("q", "Q", "", H, 1, None, "Mean quality score from the models file."),
    Metric("g", "G", "tok/s", H, 1, None, "Tokens/s of the preset's benchmark."),
    Metric("e", "E", "tok/s/GB", H, 2, None, "G per GB of model memory."),
    Metric("ttft_ms", "TTFT", "ms", L, 0, None, "Typical time to first token."),
    Metric("ttft_p95_ms", "p95 TTFT", "ms", L, 0, None, "95th percentile time to first token."),
    Metric(
        "usd_per_mtok",
        "USD/M out tok",
        "USD",
        L,
        2,
        None,
        "Price per GPU-hour × GPUs ÷ (output tok/s × 3600) × 10⁶ at the fastest point meeting "
        "the per-user speed (analysis.cost).",
    ),
    Metric(
        "tokens_per_kwh",
        "out tok/kWh",
        "tok",
        H,
        0,
        None,
        "Output tokens per kWh at that point: tok/s ÷ the benchmark's mean W × 3.6·10⁶.",
    ),
    # the client's own figures (arena.common.metrics.client_verdict, docs/generator.md)
    Metric(
        "p50_send_lag_ms",
        "send lag p50",
        "ms",
        L,
        3,
        None,
        "Median time from a request's scheduled send to the instant before its write.",
    ),
    Metric(
        "p99_send_lag_ms",
        "send lag p99",
        "ms",
        L,
        3,
        None,
        "99th percentile send lag; over 1 ms the client was saturated (open loop, sessions).",
    ),
    Metric(
        "loop_lag_p99_ms",
        "loop lag p99",
        "ms",
        L,
        3,
        None,
        "99th percentile of the client event loop's lag during the run (worst worker): timer "
        "overshoot beyond the selector's 1 ms granularity; over 1 ms the client was "
        "saturated: reads were stamped late.",
    ),
    Metric(
        "loop_lag_max_ms",
        "loop lag max",
        "ms",
        L,
        1,
        None,
        "Longest the client's event loop ran late during the run (worst worker).",
    ),
    Metric(
        "read_stall_p99_ms",
        "read stall p99",
        "ms",
        L,
        3,
        None,
        "99th percentile over requests of the longest client loop stall between the send "
        "and the first token: how much the client may have added to TTFT.",
    ),
    Metric(
        "read_stall_ttft_p99_pct",
        "read stall % of TTFT p99",
        "%",
        L,
        2,
        None,
        "99th percentile over requests of their read stall as a share of their TTFT; over 2 % "
        "the client was saturated (its delay exceeds the ±2 % run-to-run band).",
    ),
    Metric(
        "client_headroom_used_pct",
        "client headroom used",
        "%",
        L,
        1,
        None,
        "The run's request rate (or streams open at once) over the agent's calibrated "
        "client headroom.",
    ),
    Metric(
        "client_cpu_util",
        "client CPU",
        "",
        L,
        2,
        None,
        "Busiest client process's CPU time over wall time, deliberate spinning excluded; "
        "over 0.9 the client was saturated.",
    ),
    Metric(
        "client_saturated",
        "client saturated",
        "",
        L,
        2,
        None,
        "1 for a run whose client crossed a limit (send lag p99 > 1 ms, loop lag p99 > 1 ms, "
        "read stalls p99 > 2 % of TTFT or CPU > 90 %), else 0; per variant the share of such "
        "runs.",
    ),
    Metric(
        "client_worst_run",
        "worst client run",
        "",
        N,
        0,
        None,
        "The run whose client went furthest past its limits (only where one did).",
    ),
    Metric(
        "worst_run_p99_send_lag_ms",
        "worst run send lag p99",
        "ms",
        L,
        3,
        None,
        "p99 send lag of the worst client run.",
    ),
    Metric(
        "worst_run_loop_lag_p99_ms",
        "worst run loop lag p99",
        "ms",
        L,
        3,
        None,
        "p99 event-loop lag of the worst client run.",
    ),
    Metric(
        "worst_run_read_stall_ttft_p99_pct",
        "worst run read stall % of TTFT",
        "%",
        L,
        2,
        None,
        "p99 read stall as a share of TTFT in the worst client run.",
    ),
    Metric(
        "worst_run_client_cpu_util",
        "worst run client CPU",
        "",
        L,
        2,
        None,
        "Busiest client core's CPU share in the worst client run.",
    ),
)

CATALOGUE: dict[str, Metric] = {metric.key: metric for metric in METRICS}

SLO_TEMPLATE = Metric(
    "slo_{tier}_pct",
    "{tier} SLO",
    "%",
    H,
    1,
    SESSIONS,
    "Sessions whose every turn (sub-agents' too) succeeded and met the {tier} tier's TTFT and "
    "output speed, % of the run's sessions.",
)
"""Session benchmarks name their own SLO tiers, so their attainment keys are open-ended: each
``slo_<tier>_pct`` is this template with the tier's name filled in."""
_SLO_KEY = re.compile(r"^slo_(?P<tier>[A-Za-z0-9][A-Za-z0-9._-]{0,63})_pct$")


def slo_key(tier: str) -> str:
    """The stored metric key of a tier's attainment."""
    return SLO_TEMPLATE.key.format(tier=tier)


def slo_tier(key: str) -> str | None:
    """The tier a ``slo_<tier>_pct`` key names; ``None`` for any other key."""
    found = _SLO_KEY.match(key)
    return found["tier"] if found else None


def metric(key: str) -> Metric:
    """The catalogue's definition of ``key`` (any ``slo_<tier>_pct`` from ``SLO_TEMPLATE``);
    KeyError names a key nobody defined."""
    if key in CATALOGUE:
        return CATALOGUE[key]
    if found := _SLO_KEY.match(key):
        tier = found["tier"]
        return replace(
            SLO_TEMPLATE,
            key=key,
            label=SLO_TEMPLATE.label.format(tier=tier),
            description=SLO_TEMPLATE.description.format(tier=tier),
        )
    raise KeyError(key)


HEADLINE: dict[Kind, tuple[Metric, ...]] = {
    "open_loop": tuple(
        metric(key)
        for key in (
            "completed",
            "request_throughput",
            "output_throughput",
            "median_ttft_ms",
            "p99_ttft_ms",
            "median_ttfc_ms",
            "median_tpot_ms",
            "median_itl_ms",
            "median_e2el_ms",
            "max_concurrent_requests",
        )
    ),
    "closed_loop": tuple(
        metric(key)
        for key in (
            "pp_throughput",
            "tg_throughput",
            "tg_req_throughput",
            "peak_throughput",
            "ttfr",
            "est_ppt",
            "e2e_ttft",
            "e2e_ttfc",
        )
    ),
    "sessions": tuple(
        metric(key)
        for key in (
            "load",
            "sessions",
            "completed",
            "output_throughput",
            "ttft_first_p95_ms",
            "ttft_later_p95_ms",
            "session_time_mean_s",
            "session_output_tps_mean",
            "cache_hit_pct",
        )
    ),
}
"""Ordered headline metrics per benchmark kind (``arenactl show``, compare), from the catalogue."""


def headline_kind(kind: str) -> Kind:
    """The ``HEADLINE`` a benchmark of ``kind`` is listed by: its own, or open loop's for any
    kind without one."""
    return "closed_loop" if kind == "closed_loop" else "sessions" if kind == "sessions" else OPEN
