"""The suite side of session benchmarks: variant keys, the arena-agentic set, quick scaling,
output ceilings for a search's run-time variants, limits and the owner's policy on trace files."""

import math
from pathlib import Path
from textwrap import dedent

import pytest

from arena.agent.policy import dataset_refusals
from arena.common.errors import SuiteError
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import LoadSearch, SessionBenchmark, TraceSource
from arena.common.suites.builtin import builtin_benchmarks
from arena.common.suites.limits import SuiteLimits
from arena.common.suites.loader import load_suite_text
from arena.common.suites.scaling import scale_benchmark
from arena.common.suites.variants import (
    expected_requests,
    output_ceilings,
    parse_session_variant,
    session_variant,
    variants,
)
from arena.common.traces.format import MAX_OUTPUT_TOKENS

CODING = TraceSource(profile="coding")


def sessions(**fields: object) -> SessionBenchmark:
    return SessionBenchmark.model_validate({"id": "s", "trace": CODING} | fields)


def test_variant_keys_round_trip() -> None:
    assert session_variant("users", 4).key == "u4"
    assert session_variant("session_rate", 0.5).key == "srate0.5"
    assert session_variant("replay", 0).key == "replay"
    for key in ("u4", "u64", "srate0.5", "srate2", "srate1e-05", "replay"):
        parsed = parse_session_variant(key)
        assert parsed is not None and parsed.key == key
        assert session_variant(parsed.over, parsed.load).key == key
    for key in ("u0", "u-1", "srate0", "srate-1", "sratenan", "srate0.50", "x", "u4/c1", ""):
        assert parse_session_variant(key) is None, key


def test_declared_variants_and_a_search_known_by_form() -> None:
    assert [v.key for v in variants(sessions(users=[1, 4]))] == ["u1", "u4"]
    assert [v.key for v in variants(sessions(session_rate=[0.5, 2]))] == ["srate0.5", "srate2"]
    assert [v.key for v in variants(sessions(replay_timestamps=True))] == ["replay"]
    search = sessions(search=LoadSearch(over="users", max=32))
    assert variants(search) == []
    ceilings = output_ceilings(search)
    assert list(ceilings) == []
    assert ceilings.get("u1") == ceilings.get("u32") == 4096  # the coding profile's output_max
    assert ceilings.get("u33") is None and ceilings.get("srate1") is None
    rate = output_ceilings(sessions(search=LoadSearch(over="session_rate", max=2)))
    assert "srate0.375" in rate and "srate2.5" not in rate and "u1" not in rate


def test_output_ceilings_follow_the_profile_or_the_format() -> None:
    assert dict(output_ceilings(sessions(users=[2]))) == {"u2": 4096}
    chat = SessionBenchmark(id="c", trace=TraceSource(profile="chat"), users=[1])
    assert dict(output_ceilings(chat)) == {"u1": 800}
    own = TraceSource(profile="chat", params={"answer_tokens_max": 900})
    assert dict(output_ceilings(SessionBenchmark(id="c", trace=own, users=[1]))) == {"u1": 900}
    file = SessionBenchmark(id="f", trace=TraceSource(path="t.jsonl"), users=[1])
    assert dict(output_ceilings(file)) == {"u1": MAX_OUTPUT_TOKENS}


def test_expected_requests_is_a_positive_estimate() -> None:
    assert expected_requests(sessions(users=[5], step_s=10), 2) == 2 * 10
    rate = expected_requests(sessions(session_rate=[1.0], step_s=10), 1)
    # 10 sessions of the coding profile's mean: 12 · e^(1/2) turns, plus 1 % of the later
    # turns spawning 3 sub-agents of 4 · e^(1/8) turns
    turns = 12 * math.exp(0.5)
    assert rate == math.ceil(10 * (turns + (turns - 1) * 0.01 * 3 * 4 * math.exp(0.125)))
    worst = expected_requests(sessions(session_rate=[1.0], step_s=10), 1, worst=True)
    assert worst == 10 * (200 + 199 * 4 * 12)  # every turn spawning 4 sub-agents of 12 turns
    wide = TraceSource(profile="coding", params={"turns_median": 1, "turns_sigma": 4})
    capped = expected_requests(sessions(trace=wide, session_rate=[1.0], step_s=1), 1)
    # the lognormal's mean e^8 ≈ 2981 turns is capped at turns_max 200
    assert capped == math.ceil(200 + 199 * 0.01 * 3 * 4 * math.exp(0.125))
    search = sessions(search=LoadSearch(max=8, max_steps=3), step_s=10)
    assert expected_requests(search, 1) == 3 * 8 * 10 // 5


def test_the_agentic_set() -> None:
    benches = builtin_benchmarks("arena-agentic")
    assert [b.id for b in benches] == [
        "a1-coding-agent",
        "a2-chat-sessions",
        "a3-rag",
        "a4-coding-cache-off",
    ]
    assert all(isinstance(b, SessionBenchmark) for b in benches)
    a1, a2, a3, a4 = (b for b in benches if isinstance(b, SessionBenchmark))
    assert a1.search is not None and a1.trace.profile == "coding" and a1.prefix_cache == "on"
    assert a1.slo[0].name == "agent"  # the tier that drives the search
    assert a2.session_rate and a2.trace.profile == "chat" and a2.prefix_cache == "on"
    assert a3.users and a3.trace.profile == "rag" and a3.prefix_cache == "on"
    assert a4.trace == a1.trace and a4.prefix_cache == "off" and len(a4.users) == 1
    assert all(b.description for b in benches)


def test_quick_scales_the_trace_the_steps_and_the_rates() -> None:
    a1, a2 = builtin_benchmarks("arena-agentic")[:2]
    quick = scale_benchmark(a1, 0.1)
    assert isinstance(quick, SessionBenchmark) and isinstance(a1, SessionBenchmark)
    assert quick.trace.scale == pytest.approx(0.1) and quick.trace.sessions == 6
    assert quick.trace.params == {"turns_max": 8.0, "turns_median": 8.0, "subagent_turns_max": 8.0}
    assert quick.step_s == pytest.approx(a1.step_s * 0.01)
    assert quick.search == a1.search and quick.slo == a1.slo  # users and SLOs kept
    rates = scale_benchmark(a2, 0.1)
    assert isinstance(rates, SessionBenchmark) and isinstance(a2, SessionBenchmark)
    assert rates.session_rate == pytest.approx([r * 10 for r in a2.session_rate])
    assert rates.trace.params == {}  # a cap already at 8 is kept
    rate_search = sessions(search=LoadSearch(over="session_rate", start=0.5, max=4))
    scaled = scale_benchmark(rate_search, 0.5)
    assert isinstance(scaled, SessionBenchmark) and scaled.search is not None
    assert (scaled.search.start, scaled.search.max) == (1.0, 8.0)


SUITE = """\
name: s
benchmarks:
  - kind: sessions
    id: agents
    trace: {{profile: coding{params}}}
    {load}
    step_s: {step_s}
models: [{{name: m, engine: sim}}]
engines: {{sim: {{runtime: simulated}}}}
"""


def suite(load: str = "users: [4]", step_s: float = 60, params: str = "") -> str:
    return SUITE.format(load=load, step_s=step_s, params=params)


def test_limits_bound_users_rates_and_load_time() -> None:
    limits = SuiteLimits(max_concurrency=20, max_load_s=600, max_session_rate=5)
    load_suite_text(suite(), limits=limits)
    with pytest.raises(SuiteError) as users:
        load_suite_text(suite("search: {over: users, max: 64}"), limits=limits)
    assert "64 users are past the limit of 20" in str(users.value)
    assert users.value.line == 6
    with pytest.raises(SuiteError) as rate:
        load_suite_text(suite("session_rate: [1, 10]"), limits=limits)
    assert "10 sessions/s is past the limit of 5" in str(rate.value)
    with pytest.raises(SuiteError) as long:
        load_suite_text(suite("search: {max: 8, max_steps: 8}", step_s=100), limits=limits)
    assert "8 steps of 100 s" in str(long.value) and long.value.line == 7
    with pytest.raises(SuiteError) as tokens:
        load_suite_text(suite(params=", params: {context_max: 2000000}"), limits=SuiteLimits())
    assert "past the limit of 1048576" in str(tokens.value)


def test_trace_params_are_checked_with_their_line() -> None:
    with pytest.raises(SuiteError) as error:
        load_suite_text(suite(params=", params: {turns_maxx: 3}"))
    assert error.value.line == 5
    assert "unknown parameter(s) turns_maxx" in str(error.value)


def test_relative_trace_path_follows_the_suite_file(tmp_path: Path) -> None:
    text = dedent("""\
        name: s
        benchmarks:
          - {kind: sessions, id: t, trace: {path: traces/mine.jsonl}, users: [1]}
        models: [{name: m, engine: sim}]
        engines: {sim: {runtime: simulated}}
        """)
    (bench,) = load_suite_text(text, base_dir=tmp_path).benchmarks
    assert isinstance(bench, SessionBenchmark)
    assert bench.trace.path == str(tmp_path / "traces" / "mine.jsonl")


def test_the_owner_policy_refuses_trace_files_outside_models_dir(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "traces").mkdir(parents=True)
    (tmp_path / "secret").write_text("x")
    (models / "traces" / "link.jsonl").symlink_to(tmp_path / "secret")
    policy = AgentPolicy(models_dir=str(models))

    def refused(path: str) -> list[str]:
        bench = SessionBenchmark(id="t", trace=TraceSource(path=path), users=[1])
        return dataset_refusals(policy, [bench])

    assert refused("traces/mine.jsonl") == []
    assert refused(str(models / "traces" / "mine.jsonl")) == []
    assert refused("/etc/passwd") == [
        "t: trace.path '/etc/passwd' is not under the policy's models_dir"
    ]
    assert refused("../secret") != []
    assert refused("traces/link.jsonl") == [
        "t: trace.path 'traces/link.jsonl' leads out of the policy's models_dir through a link"
    ]
    assert dataset_refusals(AgentPolicy(), [sessions(users=[1])]) == []  # generated: no file


def test_a_typo_in_a_session_field_names_the_field() -> None:
    with pytest.raises(SuiteError) as error:
        load_suite_text(suite().replace("step_s:", "step_ss:"))
    assert error.value.line == 7
    assert "did you mean 'step_s'?" in str(error.value)


def bench_suite(bench: str, runs: int = 1) -> str:
    return dedent(f"""\
        name: s
        runs: {runs}
        benchmarks:
          - {{kind: sessions, id: b, {bench}}}
        models: [{{name: m, engine: sim}}]
        engines: {{sim: {{runtime: simulated}}}}
        """)


def refusal(bench: str, limits: SuiteLimits | None = None, runs: int = 1) -> str:
    with pytest.raises(SuiteError) as caught:
        load_suite_text(bench_suite(bench, runs), limits=limits or SuiteLimits())
    return str(caught.value)


def test_a_generated_trace_that_could_pass_the_trace_caps_is_refused() -> None:
    bomb = (
        "trace: {profile: coding, sessions: 100000, params: {turns_median: 1000, "
        "turns_max: 1000, subagent_p: 1, subagents_max: 32, subagent_turns_median: 1000, "
        "subagent_turns_max: 1000, context_max: 1000000}}, users: [1]"
    )
    assert "may make 31,969,000 requests" in refusal(bomb)
    many = "trace: {profile: coding, sessions: 1000}, users: [1]"
    assert "1,000 sessions of up to 9,752 requests each" in refusal(many)
    load_suite_text(bench_suite("trace: {profile: chat, sessions: 100000}, users: [1]"))


def test_replays_are_bounded_by_rate_span_and_arrival_times() -> None:
    none = "trace: {profile: chat}, replay_timestamps: true"
    assert "replay_timestamps needs arrival times" in refusal(none)
    fast = "trace: {profile: chat, sessions: 100000, params: {arrival_rate: 10000}}, "
    assert "arrival_rate 10000 sessions/s is past the limit of 100" in refusal(
        fast + "replay_timestamps: true"
    )
    slow = "trace: {profile: chat, params: {arrival_rate: 0.000001}}, replay_timestamps: true"
    assert "arrive over about 63,000,000 s" in refusal(slow)
    fine = "trace: {profile: chat, params: {arrival_rate: 1}}, replay_timestamps: true"
    load_suite_text(bench_suite(fine), limits=SuiteLimits())


def test_sub_agents_think_times_and_job_time_are_bounded() -> None:
    limits = SuiteLimits(max_concurrency=100)
    agents = refusal("trace: {profile: coding}, users: [40]", limits)
    assert "40 users with up to 4 sub-agents each may have 200 requests in flight" in agents
    load_suite_text(bench_suite("trace: {profile: chat}, users: [100]"), limits=limits)
    think = refusal("trace: {profile: coding}, users: [1], think_scale: 100")
    assert "think times of up to 6000 s" in think
    assert "one session may think for 1,194,000 s" in think
    long = refusal("trace: {profile: chat}, users: [1, 2, 4], step_s: 7200", runs=5)
    assert "each job may run for 60.0 h" in long and "at most 48 h" in long


@pytest.mark.parametrize(
    ("bench", "message"),
    [
        ("search: {over: users, start: 0.5, max: 0.5}", "needs max of at least 1"),
        ("search: {start: 8, max: 4}", "search.start (8) must not exceed max (4)"),
        ("users: [4, 4]", "the same variant 'u4' twice"),
        ("session_rate: [1.0000001, 1.0000002]", "the same variant 'srate1' twice"),
    ],
)
def test_loads_that_cannot_run_as_written_are_refused(bench: str, message: str) -> None:
    assert message in refusal(f"trace: {{profile: chat}}, {bench}")


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        ("{path: /m/t.jsonl, block_size: 16}", "block_size applies to a Mooncake file"),
        ("{profile: chat, format: mooncake}", "apply to a trace file"),
        ("{profile: chat, block_size: 16}", "apply to a trace file"),
        ("{profile: chat, scale: 0.01}", "trace.scale is set by the suite's 'quick'"),
    ],
)
def test_trace_sources_that_would_be_ignored_or_fail_later_are_refused(
    trace: str, message: str
) -> None:
    assert message in refusal(f"trace: {trace}, users: [1]")


def test_quick_leaves_a_whole_file_whole() -> None:
    whole = scale_benchmark(sessions(trace=TraceSource(path="/m/t.jsonl"), users=[1]), 0.1)
    assert isinstance(whole, SessionBenchmark) and whole.trace.sessions is None
    first = TraceSource(path="/m/t.jsonl", sessions=100)
    cut = scale_benchmark(sessions(trace=first, users=[1]), 0.1)
    assert isinstance(cut, SessionBenchmark) and cut.trace.sessions == 10
