"""Session benchmarks in every view: the per-step listing with its SLO columns, the agent
capacity and cache listings (rich table, CSV rows and both pages through the one macro), the
lines ``arenactl show`` prints, the figures, and the report's agentic section (only where a
session benchmark exists)."""

import io
from pathlib import Path

import pyarrow.parquet as pq
from rich.console import Console

from arena.client.parquet import SAMPLES, sample_row, write_table
from arena.client.render import show_results
from arena.client.report.build import build
from arena.client.report.fetch import ReportData, Selection
from arena.client.report.write import _ENV as REPORT
from arena.client.report.write import render
from arena.client.views import view_rows
from arena.common import figures
from arena.common.analysis.agent_capacity import agent_capacity_rows
from arena.common.analysis.cache import cache_rows
from arena.common.analysis.compare import compare
from arena.common.metrics.catalogue import HEADLINE
from arena.common.schemas.results import RunResults
from arena.common.schemas.run import RunDetail, RunInfo
from arena.common.schemas.sample import RequestSample
from arena.common.views.agentic import CACHE, cache_line, capacity_lines
from arena.common.views.frontier import AGENT_CAPACITY
from arena.common.views.results import RESULTS, results_for, session_tiers
from arena.controller.web.figures import agentic_figures
from arena.controller.web.templating import templates
from tests.agentic_results import AGENTIC, CHAT, CODING, CONTROL, PLAIN, run
from tests.unit.test_result_origin import origin
from tests.unit.test_views import Tables

UNVERIFIED_ORIGIN = origin()


def test_a_session_benchmark_lists_its_headline_then_one_column_per_tier() -> None:
    view = results_for(CODING)
    keys = [column.key for column in view.shown]
    assert keys[3:-2] == [metric.key for metric in HEADLINE["sessions"]]
    assert keys[-2:] == ["slo_agent_pct", "slo_interactive_pct"]
    assert [column.header for column in view.shown[-2:]] == ["agent SLO %", "interactive SLO %"]
    assert results_for(CHAT) is RESULTS["open_loop"]
    # a step under the target is marked on the tier it failed, nowhere else
    marks = {v.key: [cell.mark for cell in view.cells(v)[-2:]] for v in CODING.variants}
    assert marks == {
        "u1": ["", ""],
        "u2": ["", ""],
        "u4": ["", "< 95 %"],
        "u8": ["< 95 %", "< 95 %"],
    }
    # without a stored capacity the tiers come from the variants' keys, in their order
    bare = CODING.model_copy(update={"agent_capacity": None})
    assert session_tiers(bare) == ["agent", "interactive"]
    assert all(cell.mark == "" for v in bare.variants for cell in results_for(bare).cells(v))


def test_agent_capacity_rows_per_tier_and_an_invalid_benchmark_keeps_its_reason() -> None:
    rows = agent_capacity_rows([AGENTIC])
    assert [(r.benchmark, r.tier, r.capacity, r.per_gpu, r.per_kw, r.status) for r in rows] == [
        ("01-coding-agent", "agent", 4.0, 2.0, 8.0, "ok"),
        ("01-coding-agent", "interactive", 2.0, 1.0, 4.0, "ok"),
        ("04-coding-cache-off", "agent", None, None, None, "invalid"),
        ("04-coding-cache-off", "interactive", None, None, None, "invalid"),
    ]
    assert rows[0].passed == [1, 2, 4] and rows[1].passed == [1, 2] and rows[0].steps == 4
    assert "warm prefix cache" in rows[2].note
    assert agent_capacity_rows([PLAIN]) == []
    assert agent_capacity_rows([AGENTIC], hardware="spark") == []
    assert len(agent_capacity_rows([AGENTIC], hardware="h200")) == 4
    exported = view_rows(AGENT_CAPACITY, rows)
    assert list(exported.columns) == [
        "run",
        "job",
        "model",
        "engine",
        "hardware",
        "simulated",
        "benchmark",
        "prefix_cache",
        "tier",
        "target_pct",
        "capacity",
        "unit",
        "per_gpu",
        "per_kw",
        "steps",
        "passed",
        "lower_bound",
        "gpus",
        "origin",
        "status",
        "note",
    ]
    assert exported.rows[0][7:17] == [
        "on",
        "agent",
        95.0,
        4.0,
        "users",
        2.0,
        8.0,
        4,
        "1 2 4",
        False,
    ]


TOP_AGENT = {"capacity": {"agent": 8.0, "interactive": 2.0}}
"""A capacity at the highest measured step (``AgentCapacity.lower_bound``)."""


def test_a_capacity_at_the_highest_measured_step_reads_as_a_lower_bound() -> None:
    assert CODING.agent_capacity is not None
    top = CODING.agent_capacity.model_copy(update=TOP_AGENT)
    bench = CODING.model_copy(update={"agent_capacity": top})
    agent, interactive = agent_capacity_rows([run([bench])])
    assert (agent.lower_bound, interactive.lower_bound) == (True, False)
    assert [cell.mark for cell in AGENT_CAPACITY.cells(agent) if cell.key == "capacity"] == [
        "or more"
    ]
    assert "8 users or more within agent, 2 users within interactive" in capacity_lines(bench)[0]


def test_an_unverified_import_has_no_capacity_unless_asked_for() -> None:
    unverified = run([CODING])
    unverified.jobs[0].imported = UNVERIFIED_ORIGIN
    rows = agent_capacity_rows([unverified])
    assert [(r.origin, r.status, r.capacity, r.per_gpu, r.lower_bound) for r in rows] == [
        ("unverified", "unverified", None, None, False)
    ] * 2
    assert rows[0].note.startswith("unverified import")
    shown = agent_capacity_rows([unverified], include_unverified=True)
    assert [(r.origin, r.status, r.capacity) for r in shown] == [
        ("unverified", "ok", 4.0),
        ("unverified", "ok", 2.0),
    ]
    assert [r.origin for r in agent_capacity_rows([AGENTIC])][:1] == ["measured"]


def test_the_listing_marks_the_steps_the_stored_capacity_failed() -> None:
    # the stored LoadStep.passed decides, not the attainment's number: u1's 100 % marked failed
    assert CODING.agent_capacity is not None
    steps = [s.model_copy(deep=True) for s in CODING.agent_capacity.steps]
    steps[0].passed["agent"] = False
    steps[2].passed["interactive"] = True
    found = CODING.agent_capacity.model_copy(update={"steps": steps})
    bench = CODING.model_copy(update={"agent_capacity": found})
    view = results_for(bench)
    marks = {v.key: [cell.mark for cell in view.cells(v)[-2:]] for v in bench.variants}
    assert marks["u1"] == ["< 95 %", ""] and marks["u4"] == ["", ""]


def test_the_cache_listing_has_every_benchmark_whose_cache_is_known() -> None:
    rows = cache_rows([AGENTIC])
    assert [(r.benchmark, r.prefix_cache, r.engine_hit_pct, r.client_hit_pct) for r in rows] == [
        ("01-coding-agent", "on", 85.0, 85.0),
        ("04-coding-cache-off", "off", 40.0, 85.0),
    ]
    assert rows[1].valid is False and "warm" in rows[1].note
    assert cache_rows([PLAIN]) == []  # nothing declared, nothing reported
    cells = [cell.text for cell in CACHE.cells(rows[0])]
    assert cells[5:] == ["sessions", "on", "85.0", "120,000", "85.0", "yes", ""]


def test_cache_and_capacity_lines() -> None:
    assert cache_line(CODING) == (
        "prefix cache on (declared) · engine hit rate 85.0 % of 120,000 prompt tokens"
    )
    assert cache_line(CHAT) == ""
    no_counters = CHAT.model_copy(update={"prefix_cache": "on"})
    assert cache_line(no_counters) == (
        "prefix cache on (declared) · the engine reported no cache counters"
    )
    hits_only = CHAT.model_copy(update={"engine_metrics": {"prefix_cache_hits": 4096.0}})
    assert cache_line(hits_only).endswith(
        "the engine served 4,096 prompt tokens from its cache (lookups not counted)"
    )
    assert capacity_lines(CODING) == [
        "agent capacity (≥ 95 % of sessions meet the tier; measured steps: 1, 2, 4, 8 users): "
        "4 users within agent, 2 users within interactive",
        "  per GPU (2 GPUs): 2.00 agent, 1.00 interactive",
        "  per kW (mean 500 W): 8.00 agent, 4.00 interactive",
    ]
    assert capacity_lines(CONTROL)[0].startswith("not counted, the benchmark is invalid: ")
    assert capacity_lines(CHAT) == []


def test_arenactl_show_prints_the_steps_the_tiers_the_cache_and_the_capacity() -> None:
    buffer = io.StringIO()
    show_results(Console(file=buffer, width=300, color_system=None), AGENTIC)
    text = buffer.getvalue()
    assert "agent SLO %" in text and "interactive SLO %" in text and "TTFT 1st turn p95" in text
    assert "80.00 ± 0.00 < 95 %" in text
    assert "engine hit rate 85.0 % of 120,000 prompt tokens" in text
    assert "4 users within agent, 2 users within interactive" in text
    assert "per kW (mean 500 W): 8.00 agent" in text
    assert "not counted, the benchmark is invalid" in text
    turns = text[text.index("median TTFT by turn number") :]
    assert "TTFT turn 4–5 ms" in turns and "1,120.00 ± 0.00" in turns  # u8, turn 3
    plain = io.StringIO()
    show_results(Console(file=plain, width=300, color_system=None), PLAIN)
    shown = plain.getvalue()
    assert "prefix cache" not in shown and "agent capacity" not in shown
    assert "TTFT by turn" not in shown


def test_both_pages_draw_agent_capacity_and_cache_with_the_one_macro() -> None:
    rows = agent_capacity_rows([AGENTIC])
    source = '{% from "views.html" import view_table %}{{ view_table(views[name], rows) }}'
    for env in (templates.env, REPORT):
        page = Tables(env.from_string(source).render(name="agent_capacity", rows=rows))
        assert page.headers == [column.header for column in AGENT_CAPACITY.shown]
        shown = [[text for text, _, _ in row] for row in page.rows[1:]]
        assert shown == [[cell.text for cell in AGENT_CAPACITY.cells(r)] for r in rows]
        assert [value for _, value, _ in page.rows[1]][8] == "4.0"
        cache = Tables(env.from_string(source).render(name="cache", rows=cache_rows([AGENTIC])))
        assert cache.rows[1][7][0] == "85.0"


def test_ttft_by_turn_draws_one_line_per_job_and_step_with_gaps_for_unreached_turns() -> None:
    found = figures.session_benchmarks([AGENTIC, PLAIN])
    assert list(found) == ["01-coding-agent", "04-coding-cache-off"]  # no open-loop benchmark
    figure = figures.turn_ttft_figure("01-coding-agent", found["01-coding-agent"])
    assert [trace.name.rsplit(" · ", 1)[1] for trace in figure.data] == ["u1", "u2", "u4", "u8"]
    u2 = figure.data[1]
    assert list(u2.x[:5]) == ["1", "2", "3", "4–5", "6–9"]
    assert list(u2.y[:5]) == [200.0, 240.0, 280.0, 320.0, 360.0]
    assert all(value != value for value in u2.y[5:])  # NaN: no turn that far
    assert figures.turn_ttft_figure("x", []).layout.annotations[0].text == (
        "no TTFT by turn recorded"
    )


def test_attainment_marks_each_measured_step_passed_or_failed_against_the_target() -> None:
    found = figures.session_benchmarks([AGENTIC])["01-coding-agent"]
    figure = figures.attainment_figure("01-coding-agent", found)
    agent, interactive = figure.data
    assert list(agent.x) == [1.0, 2.0, 4.0, 8.0]
    assert list(interactive.y) == [100.0, 96.0, 80.0, 10.0]
    green, red = "#2ca02c", "#d62728"
    assert list(agent.marker.color) == [green, green, green, red]
    assert list(interactive.marker.color) == [green, green, red, red]
    (target,) = figure.layout.shapes
    assert target.y0 == target.y1 == 95.0
    assert agent.customdata[2][3] == "4"  # the capacity in the hover


def test_the_report_has_an_agentic_section_only_with_a_session_benchmark() -> None:
    def page(results: list[object]) -> str:
        data = ReportData(selection=Selection(), results=results, samples={}, telemetry={})
        return render(build(data, {}), ["arenactl", "report"])

    agentic = page([AGENTIC, PLAIN])
    assert '<section id="agentic">' in agentic and 'href="#agentic"' in agentic
    assert 'data-view="agent_capacity"' in agentic and 'data-view="cache"' in agentic
    assert 'data-figure="agent-capacity-bars"' in agentic
    for bench in ("01-coding-agent", "04-coding-cache-off"):
        assert f'data-figure="turns-{bench}"' in agentic
        assert f'data-figure="slo-{bench}"' in agentic
        assert f'id="turns-{bench}-json"' in agentic
    plain = page([PLAIN])
    assert 'id="agentic"' not in plain and 'data-view="agent_capacity"' not in plain
    # a closed- or open-loop benchmark with a hit rate gets the cache table, no agentic part
    warm = CHAT.model_copy(update={"engine_metrics": {"prefix_cache_hit_pct": 40.0}})
    cached = page([run([warm])])
    assert 'id="agentic"' not in cached and 'href="#agentic"' not in cached
    assert '<section id="prefix-cache">' in cached and 'data-view="cache"' in cached
    assert 'data-view="cache"' not in plain


def test_samples_parquet_carries_session_turn_and_cached_tokens(tmp_path: Path) -> None:
    turns = [
        RequestSample(
            benchmark="01-coding-agent",
            variant="u2",
            run=0,
            index=index,
            sent_s=float(index),
            end_s=index + 0.5,
            session=session,
            turn=turn,
            cached_tokens=cached,
        )
        for index, (session, turn, cached) in enumerate(
            [("s1", 0, 0), ("s1", 1, 512), ("s1.1", 0, 256), (None, None, None)]
        )
    ]
    keys = {"run_id": "r", "job_id": "j", "model": "m", "profile": "", "engine": "e"}
    keys |= {"hardware": "h", "source": "measured", "job_state": "succeeded"}
    rows = (sample_row(keys, sample) for sample in turns)
    assert write_table(rows, SAMPLES, tmp_path / "samples.parquet") == 4
    table = pq.read_table(tmp_path / "samples.parquet")
    assert table.column("session").to_pylist() == ["s1", "s1", "s1.1", None]
    assert table.column("turn").to_pylist() == [0, 1, 0, None]
    assert table.column("cached_tokens").to_pylist() == [0, 512, 256, None]


def test_a_run_without_jobs_shows_no_agentic_part() -> None:
    empty = run([])
    assert figures.session_benchmarks([empty]) == {}
    assert agent_capacity_rows([empty]) == [] and cache_rows([empty]) == []


def run_page(results: RunResults) -> str:
    """The dashboard's run page as the route renders it (``routes.runs.run_page``'s context)."""
    detail = RunDetail(
        run=RunInfo(
            run_id=results.run_id,
            suite=results.suite,
            state=results.state,
            created_at_unix=0.0,
            jobs_total=len(results.jobs),
            jobs_done=len(results.jobs),
            samples=0,
        ),
        jobs=[],
        notes=[],
    )
    return templates.env.get_template("run.html").render(
        detail=detail,
        results=results,
        job_tags={},
        figures={},
        agentic_figures=agentic_figures(results),
        agent_capacity=agent_capacity_rows([results]),
        cache=cache_rows([results]),
        aggregating=False,
        page="runs",
    )


def test_the_run_page_shows_tiers_cache_capacity_and_an_agentic_section() -> None:
    page = run_page(AGENTIC)
    assert '<section id="agentic">' in page
    assert 'id="agent-capacity" data-view="agent_capacity"' in page
    assert 'id="cache" data-view="cache"' in page
    for bench in ("01-coding-agent", "04-coding-cache-off"):
        assert f'data-figure="slo-{bench}"' in page and f'data-figure="turns-{bench}"' in page
    coding = Tables(page.split('data-benchmark="01-coding-agent"')[1].split("</table>")[0])
    assert coding.headers[-2:] == ["agent SLO %", "interactive SLO %"]
    assert 'data-mark="&lt; 95 %"' in page
    assert (
        '<p class="note" data-cache="01-coding-agent">prefix cache on (declared) · engine hit '
        "rate 85.0 % of 120,000 prompt tokens</p>" in page
    )
    assert "4 users within agent, 2 users within interactive</p>" in page
    warm = '<p class="note">04-coding-cache-off: served from a warm prefix cache (40 %'
    assert page.count(warm) == 1  # under the capacity listing, once for both tiers
    plain = run_page(PLAIN)
    assert 'id="agentic"' not in plain and "data-cache=" not in plain
    assert 'data-view="cache"' not in plain
    warm = run_page(
        run([CHAT.model_copy(update={"engine_metrics": {"prefix_cache_hit_pct": 40.0}})])
    )
    assert 'id="agentic"' not in warm and 'id="cache" data-view="cache"' in warm


def test_the_capacity_page_lists_agents_beside_the_rate_sweeps() -> None:
    agents = agent_capacity_rows([AGENTIC])
    page = templates.env.get_template("capacity.html").render(
        jobs=[],
        limits=[],
        figure_json="{}",
        agents=agents,
        agents_figure=figures.agent_capacity_figure("agents", agents).to_json(),
        hardware="",
        page="capacity",
    )
    assert 'data-figure="agent-capacity"' in page
    table = Tables(page.split('id="agent-capacity"')[1])
    assert table.headers == [column.header for column in AGENT_CAPACITY.shown]
    assert '<a href="/runs/run-agentic">run-agentic</a>' in page
    empty = templates.env.get_template("capacity.html").render(
        jobs=[], limits=[], figure_json="{}", agents=[], hardware="", page="capacity"
    )
    assert "agent-capacity" not in empty


def test_compare_lines_up_session_steps_by_the_sessions_headline() -> None:
    other = run([CODING], "run-other")
    comparison = compare([run([CODING]), other])
    metrics = {row.metric for row in comparison.rows if row.variant == "u4"}
    assert {"ttft_first_p95_ms", "ttft_later_p95_ms", "cache_hit_pct", "load"} <= metrics


def test_a_replay_has_no_load_axis_and_says_so() -> None:
    replay = CODING.model_copy(
        update={
            "variants": [CODING.variants[0].model_copy(update={"key": "replay", "metrics": {}})],
            "agent_capacity": None,
        }
    )
    (figure,) = figures.throughput_figures([run([replay])]).values()
    assert figure.layout.annotations[0].text == "no output_throughput per load step recorded"
    x = figures.throughput_figures([AGENTIC])["01-coding-agent"].data[0].x
    assert list(x) == [1.0, 2.0, 4.0, 8.0]  # the steps' stored load


def test_agent_capacity_bars_write_what_no_bar_may_pretend() -> None:
    assert CODING.agent_capacity is not None
    top = CODING.agent_capacity.model_copy(update=TOP_AGENT)
    rows = agent_capacity_rows([run([CODING.model_copy(update={"agent_capacity": top}), CONTROL])])
    agent, interactive = figures.agent_capacity_figure("agents", rows).data
    assert (agent.name, interactive.name) == ("agent", "interactive")
    assert list(agent.x) == [8.0, 0] and list(agent.text) == ["8 users or more", "invalid"]
    assert list(interactive.text) == ["2 users", "invalid"]
    assert agent.y[0].endswith("· 01-coding-agent (run-agentic-job)")
    empty = figures.agent_capacity_figure("agents", [])
    assert empty.layout.annotations[0].text == "no session benchmark"
