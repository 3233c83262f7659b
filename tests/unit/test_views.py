"""One view per listing: the rich table, the CSV rows and both HTML pages (dashboard and report,
through the one macro) show the same cells, with headers from the metric catalogue."""

import io
from html.parser import HTMLParser

from rich.console import Console

from arena.client.compare import comparison_rows
from arena.client.render_jobs import jobs_table
from arena.client.report.write import _ENV as REPORT
from arena.client.tabular import jobs_rows
from arena.client.views import view_rows, view_table
from arena.common.analysis.aggregate import AggregateRow, Entry
from arena.common.analysis.capacity import CapacityRow
from arena.common.analysis.compare import Column, CompareRow, Comparison
from arena.common.analysis.pareto import ParetoPoint
from arena.common.analysis.rank import Cost, Excluded, Ranked, Ranking
from arena.common.metrics.catalogue import HEADLINE, metric
from arena.common.schemas.agent import AgentInfo, AgentStatus, HardwareInfo
from arena.common.schemas.imported import CapacityPoint
from arena.common.schemas.job import JobInfo, JobProgress, JobState
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.results import MetricStat, VariantResult
from arena.common.schemas.run import RunDetail, RunInfo
from arena.common.views.agents import AGENTS
from arena.common.views.aggregate import AGGREGATE
from arena.common.views.compare import compare_view, compared
from arena.common.views.frontier import CAPACITY, PARETO, by_sweep, shown_order
from arena.common.views.jobs import JOBS
from arena.common.views.rank import NOT_RANKED, RANKING, RankRow
from arena.common.views.results import results_of
from arena.common.views.runs import RUNS
from arena.controller.web.templating import templates

FAST = Entry(model="m-fast", profile="", engine="vllm", hardware="H200")
SLOW = Entry(model="m-[slow]", profile="fp8", engine="sglang", hardware="Spark")
RANKED = [
    Ranked(
        rank=1,
        entry=FAST,
        score=91.23456,
        q=None,
        g=1234.5678,
        e=None,
        q_scaled=None,
        g_scaled=100.0,
        e_scaled=None,
        weights={"G": 1.0},
        ttft_ms=120.4,
        ttft_p95_ms=None,
        slow=False,
        place="=1",
        rank_low=1,
        rank_high=2,
        cost=Cost(per_user_tps=20, variant="c8", output_tps=500, gpus=1, usd_per_mtok=1.3889),
    ),
    Ranked(
        rank=2,
        entry=SLOW,
        score=0.0,
        q=70.0,
        g=12.0,
        e=0.6,
        q_scaled=100.0,
        g_scaled=0.0,
        e_scaled=0.0,
        weights={"Q": 0.7, "G": 0.2, "E": 0.1},
        ttft_ms=2500.0,
        ttft_p95_ms=3100.0,
        slow=True,
        place="=1",
        rank_low=1,
        rank_high=2,
        missing=["rag-8k", "reasoning"],
        cost=Cost(per_user_tps=20, note="no point at ≥ 20 tok/s per user"),
    ),
]
EXCLUDED = [
    Excluded(
        entry=Entry(model="sim", profile="", engine="simulated", hardware="x"), reason="simulated"
    )
]
RANKING_VALUE = Ranking(
    preset="chat", benchmark="chat", weights=(60, 30, 10), ranked=RANKED, excluded=EXCLUDED
)
EXPECTED = [
    ["=1", "1–2", "m-fast", "", "vllm", "H200", "measured", "91.2", "—", "1,234.6", "—", "120"]
    + ["—", "1.39", "—", ""],
    [
        "=1",
        "1–2",
        "m-[slow]",
        "fp8",
        "sglang",
        "Spark",
        "measured",
        "0.0",
        "70.0",
        "12.0",
        "0.60",
        "2,500",
        "3,100",
        "—",
        "—",
        "rag-8k, reasoning",
    ],
]


class Tables(HTMLParser):
    """Each table's header and body cells: (text, data-value, data-mark)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[tuple[str, str | None, str | None]]] = []
        self._cell: list[str] | None = None
        self._attrs: dict[str, str | None] = {}
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell, self._attrs = [], dict(attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" and self._cell is not None:
            self.headers.append("".join(self._cell))
        elif tag == "td" and self._cell is not None:
            cell = (
                "".join(self._cell),
                self._attrs.get("data-value"),
                self._attrs.get("data-mark"),
            )
            self.rows[-1].append(cell)
        if tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_headers_come_from_the_catalogue() -> None:
    headers = [column.header for column in RANKING.shown]
    keys = ("score", "q", "g", "e", "ttft_ms", "ttft_p95_ms", "usd_per_mtok", "tokens_per_kwh")
    assert headers[7:15] == [metric(key).header for key in keys]
    assert headers == ["#", "rank 95 %", "model", "profile", "engine", "hardware", "origin"] + [
        "score",
        "Q",
        "G tok/s",
        "E tok/s/GB",
        "TTFT ms",
        "p95 TTFT ms",
        "USD/M out tok",
        "out tok/kWh",
        "missing",
    ]


def test_the_rich_table_shows_the_views_cells_and_marks_slow_ttft() -> None:
    buffer = io.StringIO()
    Console(file=buffer, width=250, color_system=None).print(view_table(RANKING, RANKED))
    lines = buffer.getvalue().splitlines()
    body = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines[3:5]]
    assert body[0] == EXPECTED[0]
    # markup in a name is text; a slow TTFT and a cost that could not be read are marked
    assert body[1] == [*EXPECTED[1][:11], "2,500 > 2 s", "3,100"] + [
        "— no point at ≥ 20 tok/s per user",
        "—",
        "rag-8k, reasoning",
    ]


def test_csv_rows_carry_every_column_and_the_entries_not_ranked() -> None:
    rows: list[RankRow] = [*RANKED, *EXCLUDED]
    table = view_rows(RANKING, rows)
    assert list(table.columns) == [
        "rank",
        "place",
        "rank_range",
        "model",
        "profile",
        "engine",
        "hardware",
        "origin",
        "score",
        "q",
        "g_tok_s",
        "e_tok_s_per_gb",
        "q_scaled",
        "g_scaled",
        "e_scaled",
        "ttft_ms",
        "ttft_p95_ms",
        "usd_per_mtok",
        "tokens_per_kwh",
        "cost_at",
        "missing",
        "slow",
        "excluded_reason",
    ]
    assert table.rows[0][:9] == [1, "=1", "1–2", "m-fast", "", "vllm", "H200", "measured", 91.23]
    assert table.rows[0][17:21] == [1.3889, None, "c8", ""]
    assert table.rows[2] == [
        None,
        None,
        None,
        "sim",
        "",
        "simulated",
        "x",
        "measured",
        *[None] * 14,
        "simulated",
    ]


def test_dashboard_and_report_render_the_same_table_with_the_one_macro() -> None:
    source = '{% from "views.html" import view_table %}{{ view_table(views[name], rows) }}'
    for env in (templates.env, REPORT):
        page = env.from_string(source).render(name="ranking", rows=RANKED)
        parsed = Tables(page)
        assert parsed.headers == [column.header for column in RANKING.shown]
        assert [[text for text, _, _ in row] for row in parsed.rows[1:]] == EXPECTED
        values = [value for _, value, _ in parsed.rows[2]]
        assert values[0] is None and values[2] is None  # the rank is text: "=1"
        assert float(values[9] or 0) == 12.0
        assert [mark for _, _, mark in parsed.rows[2]][11] == "> 2 s"
        excluded = Tables(env.from_string(source).render(name="not_ranked", rows=EXCLUDED))
        assert excluded.rows[1:] == [
            [("sim", None, None), ("", None, None)]
            + [
                ("simulated", None, None),
                ("x", None, None),
                ("measured", None, None),
                ("simulated", None, None),
            ]
        ]
    assert NOT_RANKED.keys == ["model", "profile", "engine", "hardware", "origin", "reason"]
    elsewhere = Excluded(entry=EXCLUDED[0].entry, reason="no long-output benchmark")
    assert NOT_RANKED.cells(elsewhere)[-1].text == "simulated: no long-output benchmark"


POINTS = [
    ParetoPoint(
        run_id=f"run-{i}",
        job_id=f"job-{i}",
        model=f"m{i}",
        engine="vllm",
        hardware=None if i else "H200",
        simulated=bool(i),
        benchmark="06-concurrency-stress",
        kind="open_loop",
        variant=f"c{i}",
        output_tps=1000.0 * (i + 1),
        user_tps=50.0 / (i + 1),
        gpus=1 if i else None,
        output_tps_per_gpu=1000.0 * (i + 1) if i else None,
        mean_power_w=300.0,
        output_tps_per_w=0.12345,
        valid=not i,
        frontier=not i,
    )
    for i in range(2)
]
CAPACITY_ROW = CapacityRow(
    run_id="run-s",
    job_id="job-s",
    model="m",
    engine="vllm",
    hardware="Spark",
    simulated=True,
    benchmark="11-rate-sweep",
    source="published",
    limit_ms=2000.0,
    point=CapacityPoint(configured_rps=4.0, achieved_rps=3.9876, ttft_p95_ms=1800.0),
    status="ok",
)


def test_pareto_and_capacity_export_the_columns_they_always_had() -> None:
    assert view_rows(PARETO, POINTS).columns == [
        "run",
        "job",
        "model",
        "engine",
        "hardware",
        "simulated",
        "benchmark",
        "variant",
        "out tok/s",
        "tok/s per user",
        "gpus",
        "out tok/s per GPU",
        "mean W",
        "out tok/s per W",
        "valid",
        "frontier",
    ]
    assert view_rows(PARETO, POINTS).rows[0][-2:] == [True, True]  # valid, frontier: booleans
    capacity = view_rows(CAPACITY, [CAPACITY_ROW])
    assert capacity.columns == [
        "run",
        "job",
        "model",
        "engine",
        "hardware",
        "simulated",
        "benchmark",
        "source",
        "p95 TTFT under s",
        "rate req/s",
        "achieved req/s",
        "p95 TTFT ms",
        "out tok/s",
        "status",
        "note",
    ]
    assert capacity.rows[0][8:13] == [2.0, 4.0, 3.9876, 1800.0, None]


def test_the_pareto_page_and_table_list_the_same_points_frontier_first() -> None:
    shown = shown_order(POINTS)
    assert [p.job_id for p in shown] == ["job-0", "job-1"]  # real before simulated
    source = '{% from "views.html" import view_table %}'
    source += '{{ view_table(views.pareto, rows, {"id": "pareto"}, {"run": "/runs/"}) }}'
    page = templates.env.from_string(source).render(rows=shown)
    parsed = Tables(page)
    assert parsed.headers[:2] == ["", "model"] and parsed.headers[-1] == "run"
    assert [row[0][0] for row in parsed.rows[1:]] == ["★", ""]
    assert [row[1][2] for row in parsed.rows[1:]] == [None, "simulated, invalid"]
    assert parsed.rows[2][2][0] == "—"  # hardware unknown
    assert parsed.rows[1][10][0] == "0.123"  # tok/s per W: the catalogue's three decimals
    assert '<a href="/runs/run-0">run-0</a>' in page
    buffer = io.StringIO()
    Console(file=buffer, width=250, color_system=None).print(view_table(PARETO, shown))
    assert "m1 simulated, invalid" in buffer.getvalue()


def test_both_pages_pivot_capacity_with_the_one_macro_and_the_catalogues_units() -> None:
    rows = [
        CAPACITY_ROW,
        CAPACITY_ROW.model_copy(update={"limit_ms": 5000.0, "point": None, "status": "invalid"}),
    ]
    sweeps = by_sweep(rows)
    assert len(sweeps) == 1 and list(sweeps[0]) == [2000.0, 5000.0]
    source = '{% from "views.html" import capacity_table %}'
    source += "{{ capacity_table(sweeps, [2000.0, 5000.0, 10000.0], run_link=link) }}"
    pages = [
        env.from_string(source).render(sweeps=sweeps, link=link)
        for env, link in ((templates.env, "/runs/"), (REPORT, ""))
    ]
    for page in pages:
        parsed = Tables(page)
        assert parsed.headers[5].startswith("p95 TTFT < 2 s")
        assert "rate req/s (achieved req/s, p95 TTFT ms, out tok/s)" in parsed.headers[5]
        (cells,) = parsed.rows[1:]
        assert cells[0] == ("m", None, "simulated")
        assert cells[5] == ("4.00 (3.988, 1,800, —)", "4.0", None)
        assert [cells[6][0], cells[7][0]] == ["invalid", "—"]
    assert '<a href="/runs/run-s">run-s</a>' in pages[0] and "<a" not in pages[1]


def test_aggregate_shows_mean_std_and_marks_an_unstable_spread() -> None:
    stat = MetricStat(mean=1234.5, std=30.0, n=3)
    row = AggregateRow(
        entry=FAST,
        benchmark="01-chat",
        kind="closed_loop",
        variant="c10",
        status="ok",
        jobs=1,
        runs=3,
        metrics={"tg_throughput": stat},
        throughput_key="tg_throughput",
        cv_pct=2.43,
        unstable=True,
    )
    cells = AGGREGATE.cells(row)
    assert [cell.text for cell in cells[-3:]] == ["3 (1 job(s))", "1,234.50 ± 30.00", "2.43"]
    assert cells[-1].mark == "> ±2 %"
    table = view_rows(AGGREGATE, [row])
    assert table.columns[7:] == [
        "status",
        "jobs",
        "runs",
        "metric",
        "mean",
        "std",
        "cv_pct",
        "unstable",
    ]
    assert table.rows[0][7:] == ["ok", 1, 3, "tg_throughput", 1234.5, 30.0, 2.43, True]


def test_both_pages_draw_a_comparison_with_the_one_macro_as_arenactl_prints_it() -> None:
    columns = [
        Column(
            label=f"m {hardware}",
            run_id=f"run-{hardware}",
            job_id=f"job-{hardware}",
            model="m",
            profile="",
            engine="vllm",
            engine_version=None,
            hardware=hardware,
            source=source,
            quick=None,
        )
        for hardware, source in (("H200", "measured"), ("Spark", "unverified"))
    ]
    row = CompareRow(
        benchmark="01-chat",
        variant="c1",
        metric="joules_per_output_token",
        label="energy/token",
        unit="J/token",
        values=[MetricStat(mean=0.5, std=0.01, n=2), MetricStat(mean=0.25, std=None, n=1)],
        ratios=[1.0, 0.5],
        spreads=[None, None],
    )
    comparison = Comparison(columns=columns, baseline=0, rows=[row], notes=[])
    source = '{% from "views.html" import compare_table %}{{ compare_table(c, anchors=a) }}'
    source = source.replace("anchors=a", "job_anchors=a")
    for env in (templates.env, REPORT):
        page = env.from_string(source).render(c=comparison, a={"job-H200": "j1"})
        (cells,) = Tables(page).rows[1:]
        assert [text for text, _, _ in cells] == ["01-chat", "c1", "energy/token J/token"] + [
            "0.5 ± 0.01",
            "0.25 ×0.50",
        ]
        assert cells[4][1] == "0.25" and 'data-ratio="0.5"' in page
        assert '<a href="#j1">m H200</a>' in page and "source-unverified" in page
    assert compared(MetricStat(mean=1234.5, std=2.0, n=3)) == "1,234.50 ± 2.00"
    view = compare_view(comparison)
    assert [cell.text for cell in view.cells(row)][3:] == ["0.5 ± 0.01", "0.25 ×0.50"]
    assert view.shown[4].header == "2. m Spark\nvllm version unknown\nunverified"
    rows = comparison_rows(comparison)
    assert rows.columns == [
        "benchmark",
        "variant",
        "metric",
        "unit",
        "m H200 mean",
        "m H200 std",
        "m H200 ratio",
        "m H200 spread %",
        "m Spark mean",
        "m Spark std",
        "m Spark ratio",
        "m Spark spread %",
        "notes",
    ]
    assert rows.rows == [
        [
            "01-chat",
            "c1",
            "joules_per_output_token",
            "J/token",
            *(0.5, 0.01, 1.0, None),
            *(0.25, None, 0.5, None),
            "",
        ]
    ]


def test_the_runs_page_keeps_its_live_cells_and_labels_and_the_csv_its_columns() -> None:
    run = RunInfo(
        run_id="run-1",
        suite="import:x",
        state="running",
        created_at_unix=0.0,
        jobs_total=5,
        jobs_done=3,
        samples=12345,
    )
    assert view_rows(RUNS, [run]).columns == [
        "run_id",
        "suite",
        "state",
        "created_at_unix",
        "jobs_done",
        "jobs_total",
        "samples",
    ]
    source = '{% from "views.html" import view_table %}'
    source += '{{ view_table(views.runs, [run], {"id": "runs"}, links={"run_id": "/runs/"},'
    source += ' tags={"run_id": {"run-1": ["imported"]}}, row_data={"data-run": "run_id"}) }}'
    page = templates.env.from_string(source).render(run=run)
    assert '<tr data-run="run-1">' in page
    assert '<span class="state running">running</span>' in page
    assert '<a href="/runs/run-1">run-1</a> <span class="tag imp">imported</span>' in page
    texts = [text for text, _, _ in Tables(page).rows[1]]
    assert texts[0] == "run-1 imported" and texts[4:] == ["3 / 5", "12,345"]


AGENT = AgentInfo(
    agent_id="a-1",
    name="box-[1]",
    status=AgentStatus.ONLINE,
    hardware=HardwareInfo(
        cpu_model="EPYC",
        cpu_arch="x86_64",
        cpu_cores=64,
        ram_gb=512,
        os="linux",
        kernel="6.8",
        hostname="box1",
    ),
    labels={"site": "lab", "rack": "2"},
    last_seen_unix=0.0,
    draining=True,
    current_job="",
    trust="verified",
    policy=AgentPolicy(),
)


def test_arenactl_agents_and_the_agents_page_show_the_same_cells() -> None:
    """One AGENTS view: the CSV keeps the columns ``arenactl agents -o csv`` always had; the
    table and the page show the same cells, the draining agent marked on both."""
    rows = view_rows(AGENTS, [AGENT])
    assert rows.columns == [
        "name",
        "status",
        "draining",
        "tier",
        "hardware",
        "cpu_arch",
        "labels",
        "current_job",
        "last_seen_unix",
        "policy",
        "client_requests_per_s",
        "client_streams",
    ]
    assert rows.rows == [
        [
            "box-[1]",
            AgentStatus.ONLINE,
            True,
            "verified",
            AGENT.hardware.summary,
            "x86_64",
            {"site": "lab", "rack": "2"},
            "",
            0.0,
            AgentPolicy().summary(),
            None,  # not calibrated
            None,
        ]
    ]
    expected = [cell.text for cell in AGENTS.cells(AGENT)]
    assert expected[:5] == [
        "box-[1]",
        "online",
        "verified",
        AGENT.hardware.summary,
        "EPYC · x86_64 · 64 cores",
    ]
    assert expected[5:8] == ["—", "rack=2, site=lab", "idle"]  # no client headroom measured
    console = Console(file=io.StringIO(), width=400)
    console.print(view_table(AGENTS, [AGENT], "Agents"))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "box-[1]" in shown and "online draining" in shown
    assert AgentPolicy().summary() in shown
    source = '{% from "views.html" import view_table %}'
    source += '{{ view_table(views.agents, [agent], {"id": "agents"},'
    source += ' row_data={"data-agent": "name"}) }}'
    page = templates.env.from_string(source).render(agent=AGENT)
    parsed = Tables(page)
    assert parsed.headers == [column.header for column in AGENTS.shown]
    assert [text for text, _, _ in parsed.rows[1]] == expected
    assert parsed.rows[1][1][2] == "draining"
    assert '<tr data-agent="box-[1]">' in page


def test_a_benchmarks_results_read_the_same_in_show_and_on_the_run_page() -> None:
    variant = VariantResult(
        key="c1",
        runs=3,
        metrics={
            "tg_throughput": MetricStat(mean=1234.5, std=2.0, n=3),
            "est_ppt": MetricStat(mean=0.5, std=None, n=1),
        },
        spread_pct=2.5,
        not_meaningful=["est_ppt"],
    )
    view = results_of("closed_loop")
    assert [c.key for c in view.shown[3:]] == [m.key for m in HEADLINE["closed_loop"]]
    assert results_of("rate_sweep") is results_of("open_loop")
    page = templates.env.from_string(
        '{% from "views.html" import view_table %}'
        '{{ view_table(results_of("closed_loop"), [v], row_data={"data-variant": "variant"}) }}'
    ).render(v=variant)
    assert '<tr data-variant="c1">' in page
    assert 'data-mark="n/m" data-metric="est_ppt">0.50</td>' in page
    assert 'data-metric="tg_throughput">1,234.50 ± 2.00</td>' in page
    assert 'data-mark="&gt; ±2 %"' in page  # the spread over the limit
    buffer = io.StringIO()
    Console(file=buffer, width=250, color_system=None).print(view_table(view, [variant]))
    assert "1,234.50 ± 2.00" in buffer.getvalue() and "0.50 n/m" in buffer.getvalue()


def test_arenactl_jobs_and_the_run_page_show_the_same_cells_and_keep_the_live_fields() -> None:
    """One JOBS view: the CSV keeps its columns (led by the run id), the table and the page show
    the same cells, and the cells the page updates live keep their ``data-field``."""
    running = JobInfo(
        job_id="j-1",
        target="gpu",
        model="tiny",
        engine="simulated",
        state=JobState.RUNNING,
        attempt=2,
        agent="box-1",
        message="",
        samples=40,
        requests_expected=100,
        progress=JobProgress(
            job_id="j-1",
            attempt=2,
            benchmark="chat",
            variant="c4",
            run=1,
            requests_done=40,
            requests_total=100,
            output_tokens_per_s=1234.56,
            errors=3,
        ),
        simulated=True,
    )
    queued = running.model_copy(
        update={
            "job_id": "j-2",
            "state": JobState.QUEUED,
            "attempt": 0,
            "agent": "",
            "samples": 0,
            "progress": None,
            "simulated": False,
        }
    )
    run = RunInfo(
        run_id="run-1",
        suite="s",
        state="running",
        created_at_unix=0.0,
        jobs_total=2,
        jobs_done=0,
        samples=40,
    )
    detail = RunDetail(run=run, jobs=[running, queued], notes=[])
    rows = jobs_rows(detail)
    assert rows.columns == (
        "run_id",
        "job_id",
        "target",
        "model",
        "engine",
        "state",
        "attempt",
        "agent",
        "samples",
        "requests_expected",
        "simulated",
        "message",
    )
    assert rows.rows[0][:4] == ["run-1", "j-1", "gpu", "tiny"]
    cells = [[cell.text for cell in JOBS.cells(job)] for job in detail.jobs]
    assert cells[0] == [
        "j-1",
        "tiny (simulated)",
        "simulated",
        "gpu",
        "box-1",
        "2",
        "running",
        "40 / 100",
        "1,234.6",
        "3",
        "chat c4 run 1",
        "0s",  # elapsed; no estimate reported
        "",
    ]
    assert cells[1][4:10] == ["—", "0", "queued", "0 / 100", "—", "0"]
    console = Console(file=io.StringIO(), width=400)
    console.print(jobs_table(detail))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Jobs of run-1" in shown and "tiny (simulated)" in shown and "chat c4 run 1" in shown
    source = '{% from "views.html" import view_table %}'
    source += (
        '{{ view_table(views.jobs, jobs, {"id": "jobs"}, tags={"job_id": {"j-2": ["imported"]}},'
    )
    source += ' row_data={"data-job": "job_id"}) }}'
    page = templates.env.from_string(source).render(jobs=detail.jobs)
    parsed = Tables(page)
    assert parsed.headers == [column.header for column in JOBS.shown]
    assert [text for text, _, _ in parsed.rows[1]] == cells[0]
    assert parsed.rows[2][0][0] == "j-2 imported"
    assert '<tr data-job="j-1">' in page
    for field in ("requests", "tps", "errors", "position"):
        assert f'data-field="{field}"' in page
    assert '<td data-field="state"><span class="state running">running</span>' in page
