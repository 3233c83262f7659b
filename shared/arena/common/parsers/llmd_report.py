"""An llm-d Benchmark Report (schema v0.2, JSON or YAML) as one run's Arena metrics.

The schema is llm-d-benchmark's ``schema_v0_2.py`` (the commit is named in
``arena.common.exports.llmd_report``). Only what Arena can use is read, strictly: the version,
the run's ids and keywords, the inference engine of ``scenario.stack``, the workload's rate,
concurrency and stage, and ``results.request_performance.aggregate``. Latency statistics become
Arena's (vLLM's) keys in ms (``mean_ttft_ms``, ``median_ttft_ms``, ``std_ttft_ms``,
``p99_ttft_ms``, …; ``s`` and ``s/token`` are converted), throughputs ``output_throughput``,
``total_token_throughput`` and ``request_throughput`` (no Arena key takes the input rate), the
request counts
``completed`` and ``failed``. A report Arena wrote also carries ``results.observability.arena``:
its benchmark, variant and run, and its own per-run metrics, which are taken instead of the
standard fields (as ``arena_metrics`` in an exported vLLM result), so an export imports back
exactly, closed-loop keys included. Anything else in the file
(time series, observability, health) is left alone.
"""

import math
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from arena.common.metrics.open_loop import percentile_key
from arena.common.parsers import ParseError

ARENA_SUFFIX = ".br.json"
"""How ``arenactl export --llm-d`` names its reports (``NN-<id>.<variant>.run<k>.br.json``):
the folder reader leaves them to this parser."""
MAX_BYTES = 8 * 1024 * 1024
"""A report is a few kB to a few hundred kB (time series included); more is refused unread."""
VERSIONS = ("0.2",)
MAX_DEPTH = 64
"""Nesting a report may have (v0.2 nests about ten deep): deeper is refused while composing,
before Python's recursion limit is reached."""
MAX_NAME = 200
MAX_STAGE = 10_000
MAX_LOAD = 1e6
"""Highest request rate (queries/s) or concurrency a report may state: they name variants."""
SIMULATED_KEYWORD = "simulated"
PERCENTILE_FIELDS: dict[str, float] = {
    "p0p1": 0.1,
    "p1": 1,
    "p5": 5,
    "p10": 10,
    "p25": 25,
    "p75": 75,
    "p90": 90,
    "p95": 95,
    "p99": 99,
    "p99p9": 99.9,
}
LATENCY_FIELDS = {
    "time_to_first_token": ("ttft", {"ms": 1.0, "s": 1000.0}),
    "time_per_output_token": ("tpot", {"ms/token": 1.0, "s/token": 1000.0}),
    "inter_token_latency": ("itl", {"ms/token": 1.0, "s/token": 1000.0}),
    "request_latency": ("e2el", {"ms": 1.0, "s": 1000.0}),
}
"""Schema field → Arena metric and the factor from each allowed unit to ms."""
THROUGHPUT_FIELDS = {
    "output_token_rate": ("output_throughput", "tokens/s"),
    "total_token_rate": ("total_token_throughput", "tokens/s"),
    "request_rate": ("request_throughput", "queries/s"),
}
DURATION = re.compile(r"^PT(?P<seconds>\d+(?:\.\d+)?)S$")
METRIC_KEY = re.compile(r"^[a-z0-9_.]{1,80}$")
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


class _Loose(BaseModel):
    """The parts read; other fields, the schema's optional ones, are ignored."""

    model_config = ConfigDict(extra="ignore")


class _Statistics(_Loose):
    units: str
    mean: float = Field(allow_inf_nan=False)
    stddev: float | None = Field(None, ge=0, allow_inf_nan=False)
    p50: float | None = Field(None, allow_inf_nan=False)
    p0p1: float | None = Field(None, allow_inf_nan=False)
    p1: float | None = Field(None, allow_inf_nan=False)
    p5: float | None = Field(None, allow_inf_nan=False)
    p10: float | None = Field(None, allow_inf_nan=False)
    p25: float | None = Field(None, allow_inf_nan=False)
    p75: float | None = Field(None, allow_inf_nan=False)
    p90: float | None = Field(None, allow_inf_nan=False)
    p95: float | None = Field(None, allow_inf_nan=False)
    p99: float | None = Field(None, allow_inf_nan=False)
    p99p9: float | None = Field(None, allow_inf_nan=False)


class _Requests(_Loose):
    total: int = Field(ge=0)
    failures: int | None = Field(None, ge=0)
    incomplete: int | None = Field(None, ge=0)


class _Aggregate(_Loose):
    requests: _Requests | None = None
    latency: dict[str, _Statistics | None] = {}
    throughput: dict[str, _Statistics | None] = {}


class _RequestPerformance(_Loose):
    aggregate: _Aggregate | None = None


class _Arena(_Loose):
    """``results.observability.arena``, as ``exports.llmd_report`` writes it."""

    benchmark: str
    title: str = ""
    kind: str = "open_loop"
    tool: str = "builtin"
    variant: str
    run: int = Field(ge=0, le=10_000)
    simulated: bool = False
    valid: bool = True
    """The verdict when exported: shown to readers; an import judges its figures anew."""
    partial: bool = False
    """The benchmark's job stopped after it: imported as partial (shown apart, never ranked)."""
    flags: list[Annotated[str, Field(max_length=2000)]] = Field([], max_length=100)
    accept_saturated_client: bool = False
    """The suite's setting: a saturated client is then a warning, as when it was measured."""
    exact_tg: bool = False
    """The closed loop sent ``ignore_eos`` (every answer exactly ``tg`` tokens)."""
    hardware: str | None = Field(None, max_length=MAX_NAME)
    """Arena's name of the box (``2x NVIDIA H100 (80 GB)``), taken over the accelerator's."""
    metrics: dict[str, Annotated[float, Field(allow_inf_nan=False)]] = Field({}, max_length=1000)

    @field_validator("metrics")
    @classmethod
    def _metric_keys(cls, metrics: dict[str, float]) -> dict[str, float]:
        if bad := [key for key in metrics if not METRIC_KEY.match(key)]:
            raise ValueError(f"not a metric key: {bad[0][:60]!r}")
        return metrics

    @field_validator("benchmark", "variant")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"{value[:60]!r} is not a benchmark or variant name")
        return value


class _Observability(_Loose):
    arena: _Arena | None = None


class _Results(_Loose):
    request_performance: _RequestPerformance | None = None
    observability: _Observability | None = None


class _RunTime(_Loose):
    start: str | None = None
    end: str | None = None
    duration: str | None = None


class _Run(_Loose):
    uid: str
    eid: str | None = None
    time: _RunTime | None = None
    description: str | None = None
    keywords: list[str] = []


class _Component(_Loose):
    metadata: dict[str, Any] = {}
    standardized: dict[str, Any]
    native: dict[str, Any] = {}


class _LoadStandardized(_Loose):
    tool: str = Field("unknown", max_length=200)
    tool_version: str = Field("", max_length=200)
    stage: int = Field(0, ge=0, le=MAX_STAGE)
    rate_qps: float | None = Field(None, gt=0, le=MAX_LOAD, allow_inf_nan=False)
    concurrency: float | None = Field(None, ge=1)
    """``inf`` (llm-d's unbounded), else at most ``MAX_LOAD``."""

    @field_validator("concurrency")
    @classmethod
    def _bounded(cls, value: float | None) -> float | None:
        if value is not None and not math.isinf(value) and not value <= MAX_LOAD:
            raise ValueError(f"concurrency above {MAX_LOAD:g}")
        return value


class _Load(_Loose):
    standardized: _LoadStandardized | None = None


class _Scenario(_Loose):
    stack: list[_Component] = []
    load: _Load | None = None


class _Report(_Loose):
    version: str
    run: _Run
    scenario: _Scenario | None = None
    results: _Results


@dataclass(frozen=True)
class Engine:
    label: str
    tool: str
    version: str
    model: str | None
    accelerator: str | None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LlmdReport:
    uid: str
    eid: str | None
    ended_at: str | None
    simulated: bool
    engine: Engine | None
    load_tool: str
    load_version: str
    stage: int
    rate_qps: float | None
    concurrency: float | None
    """``inf`` where the report says ``.inf``."""
    arena: _Arena | None
    """Set for a report Arena wrote: its benchmark, variant, run and own metrics."""
    metrics: dict[str, float]


def parse_report(text: str) -> LlmdReport:
    """Refuses what is no v0.2 report, with the first few reasons."""
    if len(text.encode()) > MAX_BYTES:
        raise ParseError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not read")
    document = _load(text)
    if not isinstance(document, dict) or "results" not in document or "run" not in document:
        raise ParseError("not an llm-d benchmark report: 'run' or 'results' missing")
    version = _version(document.get("version"))
    if version not in VERSIONS:
        raise ParseError(f"llm-d report version {version!r}: only {', '.join(VERSIONS)} is read")
    try:
        report = _Report.model_validate({**document, "version": version})
    except ValidationError as error:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:3]
        )
        raise ParseError(f"malformed llm-d report: {reasons}") from None
    arena = report.results.observability.arena if report.results.observability else None
    load = report.scenario.load.standardized if report.scenario and report.scenario.load else None
    return LlmdReport(
        uid=report.run.uid,
        eid=report.run.eid,
        ended_at=report.run.time.end if report.run.time else None,
        simulated=SIMULATED_KEYWORD in report.run.keywords or bool(arena and arena.simulated),
        engine=_engine(report.scenario.stack if report.scenario else []),
        load_tool=load.tool if load else "unknown",
        load_version=load.tool_version if load else "",
        stage=load.stage if load else 0,
        rate_qps=load.rate_qps if load else None,
        concurrency=load.concurrency if load else None,
        arena=arena,
        metrics=_metrics(report),
    )


def _version(value: Any) -> str:
    """``version: 0.2`` unquoted is YAML's float 0.2: read as the string it means."""
    if isinstance(value, float) and not isinstance(value, bool):
        return repr(value)
    return str(value)


class _Loader(yaml.SafeLoader):
    """Safe YAML without anchors, which let a small file expand without bound (billion
    laughs), nested at most ``MAX_DEPTH`` deep, and with timestamps kept as strings (the JSON
    form of the schema's datetimes)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise ParseError("YAML aliases (*name) are not accepted in a report")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise ParseError(f"nested more than {MAX_DEPTH} deep: not a report")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(text: str) -> Any:
    """JSON is YAML: one reader for both."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ParseError(f"not valid YAML or JSON: {error}") from None
    except ParseError:
        raise
    except (ValueError, RecursionError) as error:  # an int past Python's 4300 digits, say
        raise ParseError(f"not a readable report: {str(error)[:200]}") from None


def _engine(stack: list[_Component]) -> Engine | None:
    for component in stack:
        standardized = component.standardized
        if standardized.get("kind") != "inference_engine":
            continue
        model = standardized.get("model")
        accelerator = standardized.get("accelerator")
        args = component.native.get("args")
        return Engine(
            label=_name(component.metadata.get("label") or "engine", "metadata.label"),
            tool=_name(standardized.get("tool") or "unknown", "standardized.tool"),
            version=_name(standardized.get("tool_version") or "", "standardized.tool_version"),
            model=_name(model["name"], "model.name")
            if isinstance(model, dict) and "name" in model
            else None,
            accelerator=_accelerator(accelerator),
            args=args if isinstance(args, dict) else {},
        )
    return None


def _name(value: Any, where: str) -> str:
    """A name Arena shows and keys runs by: text of a sensible length, else refused."""
    if not isinstance(value, str | int | float) or len(str(value)) > MAX_NAME:
        raise ParseError(f"scenario.stack {where}: expected text of at most {MAX_NAME} characters")
    return str(value)


def _accelerator(accelerator: Any) -> str | None:
    if not isinstance(accelerator, dict) or not accelerator.get("model"):
        return None
    count = accelerator.get("count")
    name = _name(accelerator["model"], "accelerator.model")
    if isinstance(count, int) and count > 1 and not re.match(rf"^{count}\s*[×x]\s", name):
        return f"{count}× {name}"
    return name


def _metrics(report: _Report) -> dict[str, float]:
    performance = report.results.request_performance
    aggregate = performance.aggregate if performance else None
    metrics: dict[str, float] = {}
    if aggregate is None:
        raise ParseError("no results.request_performance.aggregate: nothing to import")
    if aggregate.requests is not None:
        failed = aggregate.requests.failures or 0
        incomplete = aggregate.requests.incomplete or 0
        if failed > aggregate.requests.total:
            raise ParseError("requests.failures is larger than requests.total")
        if failed + incomplete > aggregate.requests.total:
            raise ParseError(
                "requests.failures + requests.incomplete is larger than requests.total"
            )
        # an incomplete request (cut off at the stage's end) did not complete: it counts as
        # failed, as the error-rate gate counts any request without an answer
        metrics["completed"] = float(aggregate.requests.total - failed - incomplete)
        metrics["failed"] = float(failed + incomplete)
    for name, (metric, factors) in LATENCY_FIELDS.items():
        if (stat := aggregate.latency.get(name)) is not None:
            metrics |= _latency(name, metric, stat, factors)
    for name, (key, units) in THROUGHPUT_FIELDS.items():
        if (stat := aggregate.throughput.get(name)) is not None:
            if stat.units != units:
                raise ParseError(f"throughput.{name}: units {stat.units!r}, expected {units!r}")
            metrics[key] = _non_negative(f"throughput.{name}", stat.mean)
    duration = report.run.time.duration if report.run.time else None
    if duration and (match := DURATION.match(duration)):
        metrics["duration"] = float(match["seconds"])
    return metrics


def _latency(
    name: str, metric: str, stat: _Statistics, factors: dict[str, float]
) -> dict[str, float]:
    factor = factors.get(stat.units)
    if factor is None:
        raise ParseError(f"latency.{name}: units {stat.units!r}, expected one of {list(factors)}")
    where = f"latency.{name}"
    out = {f"mean_{metric}_ms": _non_negative(where, stat.mean) * factor}
    if stat.p50 is not None:
        out[f"median_{metric}_ms"] = _non_negative(where, stat.p50) * factor
    if stat.stddev is not None:
        out[f"std_{metric}_ms"] = stat.stddev * factor
    for field_name, p in PERCENTILE_FIELDS.items():
        if (value := getattr(stat, field_name)) is not None:
            out[percentile_key(p, metric)] = _non_negative(where, value) * factor
    return out


def _non_negative(where: str, value: float) -> float:
    if value < 0 or not math.isfinite(value):
        raise ParseError(f"{where}: {value} is not a time or rate")
    return value
