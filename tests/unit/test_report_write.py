"""The report's figure JSON says what plotly's own writer says, and is safe in a page."""

import base64
import json
from typing import Any

import numpy as np
import plotly.io as pio

from arena.client.report.fetch import Selection, narrow
from arena.client.report.write import num, to_json
from arena.common import figures
from arena.common.schemas.results import RunResults
from arena.common.schemas.telemetry import GpuReading
from tests.unit.test_figures import job


def decoded(value: Any) -> Any:
    if isinstance(value, dict):
        if "bdata" in value:
            return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
        return {key: decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decoded(item) for item in value]
    return value


def test_figure_json_matches_plotly_io() -> None:
    run = RunResults(run_id="run-1", suite="s", state="succeeded", notes=[], jobs=[job()])
    readings = [
        GpuReading(t_s=i, gpu=0, power_w=None if i == 3 else 100.0 + i, temp_c=40.0)
        for i in range(10)
    ]
    for figure in (
        figures.throughput_figures([run])["01-chat"],
        figures.telemetry_figure("t", figures.measured_series(readings)),
        figures.pareto_figure("empty", []),
    ):
        ours = decoded(json.loads(to_json(figure)))
        theirs = decoded(json.loads(pio.to_json(figure, validate=False)))
        assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)


def test_table_numbers_read_as_numbers() -> None:
    assert (num(None), num(1234.5678), num(0.5, 2), num(1999.6, 0)) == (
        "—",
        "1,234.6",
        "0.50",
        "2,000",
    )


def test_a_selection_narrows_jobs_and_benchmarks_by_substring() -> None:
    other = job().model_copy(update={"job_id": "job-2", "model": "big", "benchmarks": []})
    run = RunResults(run_id="run-1", suite="s", state="succeeded", notes=[], jobs=[job(), other])
    kept = narrow(run, Selection(model="TIN", benchmark="chat"))
    assert [j.job_id for j in kept.jobs] == ["job-1"]
    assert narrow(run, Selection(benchmark="rag")).jobs == []  # no benchmark left: no job
    assert narrow(run, Selection(hardware="h200")).jobs[0].benchmarks[0].id == "01-chat"
    assert Selection(run_ids=["run-1"], model="tin").describe() == (
        "runs run-1; model contains 'tin'"
    )
