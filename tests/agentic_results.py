"""A hand-built run with session benchmarks, as the controller serves it: the material of the
agentic views' tests (show, capacity, run page, report, figures)."""

from arena.common.metrics.catalogue import slo_key
from arena.common.metrics.sessions import TURN_BUCKETS
from arena.common.schemas.job import JobState
from arena.common.schemas.results import (
    AgentCapacity,
    BenchmarkResult,
    JobResult,
    LoadStep,
    MetricStat,
    RunResults,
    VariantResult,
)
from arena.common.schemas.run import RunState

TIERS = ("agent", "interactive")
LOADS = (1, 2, 4, 8)
ATTAINMENT = {  # users → tier → % of sessions meeting it
    1: {"agent": 100.0, "interactive": 100.0},
    2: {"agent": 100.0, "interactive": 96.0},
    4: {"agent": 97.5, "interactive": 80.0},
    8: {"agent": 60.0, "interactive": 10.0},
}


def stat(mean: float | None, n: int = 2) -> MetricStat:
    return MetricStat(mean=mean, std=0.0 if mean is not None else None, n=n)


def step_variant(users: int) -> VariantResult:
    """A users step: TTFT grows with the turn (a longer context) and with the load."""
    metrics = {
        "load": stat(users),
        "sessions": stat(users * 5),
        "turns": stat(users * 40),
        "completed": stat(users * 40),
        "failed": stat(0),
        "output_throughput": stat(100.0 * users),
        "ttft_first_mean_ms": stat(200.0 * users),
        "ttft_first_p95_ms": stat(300.0 * users),
        "ttft_later_mean_ms": stat(50.0 * users),
        "ttft_later_p95_ms": stat(90.0 * users),
        "session_time_mean_s": stat(30.0 + users),
        "session_time_p95_s": stat(40.0 + users),
        "session_output_tps_mean": stat(40.0 / users),
        "cache_hit_pct": stat(85.0),
        **{slo_key(tier): stat(pct) for tier, pct in ATTAINMENT[users].items()},
    }
    for index, (_, key, _, _) in enumerate(TURN_BUCKETS[:5]):
        metrics[key] = stat(users * (100.0 + 20.0 * index))
    return VariantResult(key=f"u{users}", runs=2, metrics=metrics)


CAPACITY = AgentCapacity(
    unit="users",
    target_pct=95.0,
    tiers=list(TIERS),
    capacity={"agent": 4.0, "interactive": 2.0},
    steps=[
        LoadStep(
            variant=f"u{users}",
            load=users,
            runs=2,
            sessions=users * 10,
            attainment_pct=dict(ATTAINMENT[users]),
            passed={tier: pct >= 95.0 for tier, pct in ATTAINMENT[users].items()},
        )
        for users in LOADS
    ],
    gpus=2,
    per_gpu={"agent": 2.0, "interactive": 1.0},
    mean_power_w=500.0,
    per_kw={"agent": 8.0, "interactive": 4.0},
)

CODING = BenchmarkResult(
    id="01-coding-agent",
    title="coding agent",
    kind="sessions",
    variants=[step_variant(users) for users in LOADS],
    engine_metrics={
        "prefix_cache_queries": 120000.0,
        "prefix_cache_hits": 102000.0,
        "prefix_cache_hit_pct": 85.0,
    },
    prefix_cache="on",
    agent_capacity=CAPACITY,
)
CONTROL = BenchmarkResult(
    id="04-coding-cache-off",
    title="coding agent, cache off",
    kind="sessions",
    variants=[step_variant(2)],
    engine_metrics={"prefix_cache_queries": 9000.0, "prefix_cache_hit_pct": 40.0},
    prefix_cache="off",
    valid=False,
    flags=["served from a warm prefix cache (40 % of prompt tokens)"],
    agent_capacity=CAPACITY.model_copy(update={"steps": CAPACITY.steps[1:2]}),
)
CHAT = BenchmarkResult(
    id="01-chat",
    title="chat",
    kind="open_loop",
    variants=[
        VariantResult(
            key="rate1",
            runs=1,
            metrics={"completed": stat(10, 1), "output_throughput": stat(55.0, 1)},
        )
    ],
)


def job(job_id: str, benchmarks: list[BenchmarkResult]) -> JobResult:
    return JobResult(
        job_id=job_id,
        target="any",
        model="qwen-coder",
        engine="vllm",
        agent="box",
        hardware="NVIDIA H200 (141 GB)",
        simulated=False,
        state=JobState.SUCCEEDED,
        message="",
        benchmarks=benchmarks,
    )


def run(benchmarks: list[BenchmarkResult], run_id: str = "run-agentic") -> RunResults:
    """One finished run of one job holding ``benchmarks``."""
    return RunResults(
        run_id=run_id,
        suite="arena-agentic",
        state=RunState.SUCCEEDED,
        notes=[],
        jobs=[job(f"{run_id}-job", benchmarks)],
    )


AGENTIC = run([CODING, CONTROL, CHAT])
PLAIN = run([CHAT], "run-plain")
