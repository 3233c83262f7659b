"""Agent capacity read off measured load steps: the largest passing load per SLO tier, never
an interpolation; per GPU and per kW; withheld for an invalid benchmark."""

import pytest

from arena.common.analysis.agents import POWER_NOTE, agent_capacity
from arena.common.schemas.results import AgentCapacity, EnergyFigures, MetricStat, VariantResult
from arena.common.schemas.suite import LoadSearch, SessionBenchmark, SloTier, TraceSource

BENCH = SessionBenchmark(
    id="agents",
    trace=TraceSource(profile="coding"),
    search=LoadSearch(over="users", start=1, max=16),
    slo=[
        SloTier(name="interactive", ttft_s=1, output_tokens_per_s=30),
        SloTier(name="agent", ttft_s=3, output_tokens_per_s=20),
    ],
    attainment=0.95,
)


def step(key: str, interactive: float | None, agent: float, sessions: float = 20) -> VariantResult:
    metrics = {"sessions": MetricStat(mean=sessions, std=0, n=2)}
    metrics["slo_agent_pct"] = MetricStat(mean=agent, std=0, n=2)
    if interactive is not None:
        metrics["slo_interactive_pct"] = MetricStat(mean=interactive, std=0, n=2)
    return VariantResult(key=key, runs=2, metrics=metrics)


ENERGY = EnergyFigures(
    window_s=60,
    gpus=2,
    readings=60,
    output_tokens=None,
    mean_power_w=400.0,
    peak_power_w=None,
    energy_j=None,
    energy_source="none",
)

# a search's steps, as the results layer lists them (any order: sorted by load here)
STEPS = [step("u8", 90.0, 100.0), step("u1", 100.0, 100.0), step("u4", 95.0, 100.0)]
STEPS += [step("u6", None, 96.0), step("u16", 10.0, 40.0)]


def test_capacity_is_the_largest_passing_measured_step() -> None:
    found = agent_capacity(BENCH, STEPS, ENERGY, gpus=2)
    assert found is not None
    assert [s.load for s in found.steps] == [1, 4, 6, 8, 16]
    assert (
        found.unit == "users"
        and found.target_pct == 95
        and found.tiers
        == [
            "interactive",
            "agent",
        ]
    )
    assert found.steps[1].passed == {"interactive": True, "agent": True}  # 95 % is enough
    assert found.steps[2].attainment_pct["interactive"] is None  # not measured: not passed
    assert found.steps[2].passed["interactive"] is False
    assert found.capacity == {"interactive": 4.0, "agent": 8.0}
    assert found.per_gpu == {"interactive": 2.0, "agent": 4.0}
    assert found.mean_power_w == 400 and found.per_kw == {"interactive": 10.0, "agent": 20.0}
    assert found.note == POWER_NOTE and found.steps[0].sessions == 40  # 20 a run, 2 runs


def test_no_passing_step_no_power_no_gpus() -> None:
    found = agent_capacity(BENCH, [step("u16", 10.0, 40.0)], None, gpus=None)
    assert found is not None
    assert found.capacity == {"interactive": None, "agent": None}
    assert found.per_gpu == {} and found.per_kw == {} and found.note == ""


def test_an_invalid_benchmark_keeps_its_steps_but_no_capacity() -> None:
    found = agent_capacity(BENCH, STEPS, ENERGY, gpus=2, withheld="served warm")
    assert found is not None and len(found.steps) == 5
    assert found.capacity == {"interactive": None, "agent": None}
    assert found.per_gpu == {"interactive": None, "agent": None}
    assert found.note == "no capacity: served warm"


def test_session_rates_are_capacity_in_sessions_per_second_and_a_replay_has_none() -> None:
    rates = BENCH.model_copy(update={"search": None, "session_rate": [0.5, 1.0]})
    found = agent_capacity(rates, [step("srate0.5", 100, 100), step("srate1", 50, 100)], None, 1)
    assert found is not None and found.unit == "sessions/s"
    assert found.capacity == {"interactive": 0.5, "agent": 1.0}
    replay = BENCH.model_copy(update={"search": None, "replay_timestamps": True})
    assert agent_capacity(replay, [step("replay", 100, 100)], None, 1) is None


@pytest.mark.parametrize("pct", [94.99, 0.0])
def test_below_the_target_fails(pct: float) -> None:
    found = agent_capacity(BENCH, [step("u2", pct, pct)], None, 1)
    assert found is not None and found.capacity == {"interactive": None, "agent": None}


def test_a_run_that_judged_no_session_counts_zero_toward_the_step() -> None:
    # two runs, only one stored an attainment (100 %): the step's mean is 50 %, not 100 %
    half = step("u2", 100.0, 100.0)
    half.metrics["slo_agent_pct"] = MetricStat(mean=100.0, std=0, n=1)
    found = agent_capacity(BENCH, [step("u1", 100.0, 100.0), half], None, 1)
    assert found is not None
    assert found.steps[1].passed == {"interactive": True, "agent": False}
    assert found.capacity == {"interactive": 2.0, "agent": 1.0}


def test_a_pass_above_a_failing_step_does_not_raise_the_capacity() -> None:
    found = agent_capacity(
        BENCH, [step("u1", 100.0, 100.0), step("u2", 50.0, 100.0), step("u4", 99.0, 100.0)], None, 1
    )
    assert found is not None
    assert found.capacity == {"interactive": 1.0, "agent": 4.0}
    assert (found.lower_bound("interactive"), found.lower_bound("agent")) == (False, True)
    assert found.note == (
        "steps out of order in interactive: a step passed above a failing one; the capacity "
        "stops below the lowest failing step"
    )


def test_only_a_capacity_at_the_highest_measured_step_is_a_lower_bound() -> None:
    def bounds(found: AgentCapacity | None) -> list[bool]:
        assert found is not None
        return [found.lower_bound(tier) for tier in found.tiers]

    assert bounds(agent_capacity(BENCH, STEPS, ENERGY, gpus=2)) == [False, False]
    assert bounds(agent_capacity(BENCH, STEPS[1:2], None, 1, withheld="warm")) == [False, False]
    assert bounds(agent_capacity(BENCH, STEPS[1:2], None, 1)) == [True, True]
