"""Every schema that crosses the wire survives model -> message -> bytes -> message -> model
unchanged: infinities, None apart from 0, empty lists, ints apart from floats, nested unions."""

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, field_validator

from arena.common.pb.arena.v2 import agent_pb2, common_pb2, results_pb2
from arena.common.redact import SECRET_NAME
from arena.common.schemas.agent import GpuInfo, HardwareInfo
from arena.common.schemas.engine import DockerEngine, ExternalEngine, ProcessEngine, SimulatedEngine
from arena.common.schemas.imported import (
    MAX_SPREAD_PCT,
    CapacityPoint,
    ImportedBenchmark,
    ImportedRun,
    ImportedStat,
    ImportedVariant,
    ImportOrigin,
    Provenance,
    RateSweepSummary,
    SweepStep,
    TelemetrySample,
)
from arena.common.schemas.job import JobSpec, JobState
from arena.common.schemas.packed import pack_floats
from arena.common.schemas.results import (
    AgentCapacity,
    BenchmarkResult,
    EnergyFigures,
    JobResult,
    LoadStep,
    MetricStat,
    RunResults,
    VariantResult,
)
from arena.common.schemas.run import RunState
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import (
    ClosedLoopBenchmark,
    LoadSearch,
    ModelSpec,
    OpenLoopBenchmark,
    SessionBenchmark,
    SloTier,
    TraceSource,
)
from arena.common.schemas.telemetry import GpuReading
from arena.common.wire import flat_columns, from_message, get_field, set_field, to_message
from arena.controller.rpc.agents import ToolMetrics

text = st.text(max_size=6)
ident = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,8}", fullmatch=True)
reals = st.floats(allow_nan=False)  # infinities included
positive = st.floats(min_value=1e-3, max_value=1e9)
ints = st.integers(-(2**63), 2**63 - 1)
counts = st.integers(1, 10**6)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


json_data = st.recursive(
    st.none()
    | st.booleans()
    | text
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(text, json_data, max_size=4)
arg_values = text | ints | reals | st.booleans()

samples = st.builds(
    RequestSample,
    benchmark=text,
    variant=text,
    run=ints,
    index=ints,
    sent_s=reals,
    scheduled_s=maybe(reals),
    queued_s=maybe(reals),
    first_response_s=maybe(reals),
    first_token_s=maybe(reals),
    end_s=maybe(reals),
    chunk_times_s=st.lists(reals, max_size=4),
    prompt_tokens=maybe(ints),
    completion_tokens=maybe(ints),
    max_tokens=maybe(ints),
    error=maybe(text),
    baseline_latency_s=maybe(reals),
    session=maybe(text),
    turn=maybe(ints),
    cached_tokens=maybe(ints),
    first_content_s=maybe(reals),
    reasoning_tokens=maybe(ints),
    counted_output_tokens=maybe(ints),
    written_s=maybe(reals),
    read_stall_s=maybe(reals),
)
readings = st.builds(
    GpuReading,
    t_s=reals,
    gpu=ints,
    power_w=maybe(reals),
    energy_mj=maybe(reals),
    gpu_util_pct=maybe(reals),
    mem_util_pct=maybe(reals),
    mem_used_mib=maybe(reals),
    sm_mhz=maybe(reals),
    mem_mhz=maybe(reals),
    temp_c=maybe(reals),
    throttle_mask=maybe(st.integers(0, 2**64 - 1)),
    throttle_reasons=st.lists(text, max_size=3),
)
gpus = st.builds(
    GpuInfo,
    name=text,
    memory_gb=reals,
    unified_memory=st.booleans(),
    compute_capability=maybe(text),
    driver=maybe(text),
    cuda=maybe(text),
    vbios=maybe(text),
    power_limit_w=maybe(reals),
)
hardware = st.builds(
    HardwareInfo,
    cpu_model=text,
    cpu_arch=text,
    cpu_cores=ints,
    ram_gb=reals,
    os=text,
    kernel=text,
    hostname=text,
    gpus=st.lists(gpus, max_size=3),
    container_runtime=maybe(text),
)

launched = {
    "args": st.dictionaries(text, arg_values, max_size=4),
    "env": st.dictionaries(
        text.filter(lambda name: not SECRET_NAME.search(name)), text, max_size=2
    ),
    "secrets": st.dictionaries(text, text, max_size=2),
    "served_model_name": maybe(text),
    "startup_timeout_s": positive,
    "gpus": st.none() | st.just("all") | st.integers(0, 8) | st.lists(text, max_size=3),
    "watchdog_health_failures": counts,
    "accepts_ignore_eos": st.booleans(),
}
engines = st.one_of(
    st.builds(
        SimulatedEngine,
        runtime=st.just("simulated"),
        prefill_tokens_per_s=positive,
        decode_step_ms=positive,
        decode_step_ms_per_seq=positive,
        max_batch=counts,
        startup_s=positive,
        prefix_cache=st.booleans(),
        prefix_cache_blocks=st.integers(1, 1024),
        prefix_cache_block_size=st.integers(1, 256),
    ),
    st.builds(
        ExternalEngine,
        runtime=st.just("external"),
        url=st.just("https://h:1"),
        api_key_env=maybe(text),
        accepts_ignore_eos=st.booleans(),
    ),
    st.builds(
        DockerEngine,
        runtime=st.just("docker"),
        image=text.filter(bool),
        command=st.sampled_from(["serve --port {port}", "x {model} --port={port} {n}"]),
        pull=st.sampled_from(["missing", "always", "never"]),
        port=counts,
        shm_size=maybe(st.sampled_from(["16g", "512m", "1024"])),
        **launched,
    ),
    st.builds(
        ProcessEngine,
        runtime=st.just("process"),
        recipe=ident,
        port=st.integers(0, 65535),
        **launched,
    ),
)
benchmarks = st.one_of(
    st.builds(
        ClosedLoopBenchmark,
        id=ident,
        title=text,
        pp=st.lists(counts, min_size=1),
        tg=st.lists(counts, min_size=1),
        depth=st.lists(st.integers(0, 10**5)),
        concurrency=st.lists(counts),
        history_turns=st.integers(0, 9),
        latency_mode=st.sampled_from(["api", "generation", "none"]),
        warmup=st.booleans(),
        tool=st.sampled_from(["builtin", "llama-benchy"]),
        prefix_cache=st.sampled_from(["on", "off"]),
        exact_tg=st.booleans(),
    ),
    st.builds(
        OpenLoopBenchmark,
        id=ident,
        input_len=counts,
        output_len=counts,
        num_prompts=counts,
        range_ratio=st.floats(0, 0.99),
        request_rate=st.lists(positive | st.just(math.inf), min_size=1),
        max_concurrency=maybe(counts),
        percentiles=st.lists(st.floats(0.5, 100)),
        goodput_slo_ms=st.dictionaries(st.sampled_from(["ttft", "tpot", "e2el"]), positive),
        ignore_eos=maybe(st.booleans()),
        dataset_path=maybe(text),
        tool=st.sampled_from(["builtin", "vllm-bench"]),
        prefix_cache=st.sampled_from(["on", "off"]),
    ),
    st.builds(
        SessionBenchmark,
        id=ident,
        trace=st.one_of(
            st.builds(
                TraceSource,
                profile=st.sampled_from(["coding", "chat", "rag"]),
                sessions=maybe(st.integers(1, 100_000)),
                params=st.dictionaries(text, reals, max_size=2),
            ),
            st.builds(TraceSource, path=text),
            st.builds(
                TraceSource,
                path=text,
                format=st.just("mooncake"),
                block_size=maybe(st.integers(1, 4096)),
            ),
        ),
        search=st.builds(LoadSearch, over=st.sampled_from(["users", "session_rate"])),
        step_s=st.floats(1, 86_400),
        prefix_cache=st.sampled_from(["on", "off"]),
        history=st.sampled_from(["engine", "trace"]),
        think_scale=st.floats(0, 100),
        slo=st.lists(
            st.builds(SloTier, name=ident, ttft_s=st.floats(0.1, 10)),
            min_size=1,
            max_size=3,
            unique_by=lambda tier: tier.name,
        ),
        attainment=st.floats(0.5, 1),
    ),
    st.builds(
        SessionBenchmark,
        id=ident,
        trace=st.builds(TraceSource, profile=st.just("chat")),
        session_rate=st.lists(positive, min_size=1, max_size=3),
    ),
)
models = st.builds(
    ModelSpec,
    name=text.filter(bool),
    engine=ident,
    tokenizer=maybe(text),
    revision=maybe(text),
    engine_args=st.dictionaries(text, arg_values, max_size=4),
    random_weights=st.booleans(),
)
job_specs = st.builds(
    JobSpec,
    job_id=text,
    run_id=text,
    suite=text,
    target=text,
    model=models,
    engine=engines,
    benchmarks=st.lists(benchmarks, max_size=3),
    runs=ints,
    seed=ints,
    notes=st.lists(text, max_size=2),
)

stats = st.builds(MetricStat, mean=maybe(reals), std=maybe(reals), n=ints)
metric_maps = st.dictionaries(text, stats, max_size=3)
energies = st.builds(
    EnergyFigures,
    window_s=reals,
    gpus=ints,
    readings=ints,
    output_tokens=maybe(ints),
    mean_power_w=maybe(reals),
    peak_power_w=maybe(reals),
    energy_j=maybe(reals),
    energy_source=text,
    integrated_energy_j=maybe(reals),
    counter_energy_j=maybe(reals),
    counter_discrepancy_pct=maybe(reals),
    joules_per_output_token=maybe(reals),
    output_tokens_per_s_per_w=maybe(reals),
    note=text,
)
provenances = st.builds(
    Provenance,
    image=maybe(text),
    vllm_version=maybe(text),
    engine_version=maybe(st.text(min_size=1, max_size=20)),
    driver=maybe(text),
    hardware_reported=maybe(text),
    server_config=json_objects,
    generated_at=maybe(text),
)
telemetry_rows = st.builds(
    TelemetrySample,
    elapsed_s=reals,
    power_w=maybe(reals),
    temp_c=maybe(reals),
    gpu_util=maybe(reals),
)
sweeps = st.builds(
    RateSweepSummary,
    capacity_by_slo_ms=st.dictionaries(
        text,
        maybe(st.builds(CapacityPoint, configured_rps=reals, achieved_rps=maybe(reals))),
        max_size=3,
    ),
    queue_knee_rps=maybe(reals),
    aborted_at_rps=maybe(reals),
    steps=st.lists(st.builds(SweepStep, configured_rps=reals, completed=maybe(ints)), max_size=2),
)
origins = st.builds(
    ImportOrigin,
    key=text,
    source=text,
    content_hash=text,
    served_name=maybe(text),
    profile=text,
    provenance=provenances,
    commands=st.dictionaries(text, st.lists(text, max_size=2), max_size=2),
    rate_sweep=maybe(sweeps),
    telemetry=st.dictionaries(text, st.lists(telemetry_rows, max_size=2), max_size=2),
)
benchmark_results = st.builds(
    BenchmarkResult,
    id=text,
    title=text,
    kind=text,
    variants=st.lists(
        st.builds(VariantResult, key=text, runs=ints, metrics=metric_maps), max_size=2
    ),
    engine_metrics=st.dictionaries(text, reals, max_size=2),
    tool=text,
    command=text,
    tool_metrics=st.dictionaries(text, metric_maps, max_size=2),
    energy=maybe(energies),
    prefix_cache=st.sampled_from(["on", "off"]),
    exact_tg=st.booleans(),
    agent_capacity=maybe(
        st.builds(
            AgentCapacity,
            unit=st.sampled_from(["users", "sessions/s"]),
            target_pct=reals,
            tiers=st.lists(text, max_size=2),
            capacity=st.dictionaries(text, maybe(reals), max_size=2),
            steps=st.lists(
                st.builds(
                    LoadStep,
                    variant=text,
                    load=reals,
                    runs=ints,
                    sessions=ints,
                    attainment_pct=st.dictionaries(text, maybe(reals), max_size=2),
                    passed=st.dictionaries(text, st.booleans(), max_size=2),
                ),
                max_size=2,
            ),
            gpus=maybe(ints),
            per_gpu=st.dictionaries(text, maybe(reals), max_size=2),
            mean_power_w=maybe(reals),
            per_kw=st.dictionaries(text, maybe(reals), max_size=2),
            note=text,
        )
    ),
)
job_results = st.builds(
    JobResult,
    job_id=text,
    target=text,
    model=text,
    engine=text,
    agent=maybe(text),
    hardware=maybe(text),
    simulated=st.booleans(),
    state=st.sampled_from(JobState),
    message=text,
    benchmarks=st.lists(benchmark_results, max_size=2),
    imported=maybe(origins),
    provenance=json_objects,
    hardware_detail=maybe(hardware),
    telemetry=text,
)
run_results = st.builds(
    RunResults,
    run_id=text,
    suite=text,
    state=st.sampled_from(RunState),
    notes=st.lists(text, max_size=2),
    jobs=st.lists(job_results, max_size=2),
)
imported_runs = st.builds(
    ImportedRun,
    key=text,
    source=text,
    content_hash=text,
    model=text,
    served_name=maybe(text),
    profile=text,
    hardware=text,
    provenance=provenances,
    benchmarks=st.lists(
        st.builds(
            ImportedBenchmark,
            id=text,
            title=text,
            kind=st.sampled_from(["closed_loop", "open_loop"]),
            tool=st.sampled_from(["llama-benchy", "vllm-bench"]),
            commands=st.lists(text, max_size=2),
            variants=st.lists(
                st.builds(
                    ImportedVariant,
                    key=text,
                    runs=ints,
                    metrics=st.dictionaries(
                        text, st.builds(ImportedStat, mean=reals, std=reals, n=ints), max_size=2
                    ),
                    spread_pct=maybe(st.floats(min_value=0, max_value=MAX_SPREAD_PCT)),
                ),
                max_size=2,
                unique_by=lambda variant: variant.key,
            ),
            samples=st.lists(samples, max_size=2),
            telemetry=st.lists(telemetry_rows, max_size=2),
            exact_tg=st.booleans(),
            slot_flags=st.lists(text, max_size=2),
        ),
        max_size=2,
        unique_by=lambda benchmark: benchmark.id,
    ),
    rate_sweep=maybe(sweeps),
)


def typed(value: Any) -> Any:
    """The value with every leaf's type beside it: 1 and 1.0 and True differ."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def assert_round_trip(model: BaseModel, message_type: type[Any]) -> None:
    wire = to_message(model, message_type).SerializeToString()
    back = from_message(message_type.FromString(wire), type(model))
    assert back == model
    assert typed(back.model_dump()) == typed(model.model_dump())


@settings(max_examples=60, deadline=None)
@given(samples)
def test_request_samples(sample: RequestSample) -> None:
    assert_round_trip(sample, common_pb2.RequestSample)


@settings(max_examples=60, deadline=None)
@given(samples)
def test_chunk_times_travel_packed_bit_for_bit(sample: RequestSample) -> None:
    """One encoding: packed little-endian float64, never repeated doubles."""
    message = to_message(sample, common_pb2.RequestSample)
    assert message.chunk_times_s_packed == pack_floats(sample.chunk_times_s)
    assert "chunk_times_s" not in common_pb2.RequestSample.DESCRIPTOR.fields_by_name
    back = from_message(
        common_pb2.RequestSample.FromString(message.SerializeToString()), RequestSample
    )
    assert typed(back.model_dump()) == typed(sample.model_dump())


@settings(max_examples=60, deadline=None)
@given(st.lists(samples, min_size=1, max_size=4))
def test_flat_columns_equal_the_validated_records(batch: list[RequestSample]) -> None:
    """The ingest fast path reads exactly what ``from_message`` validates, types included, with
    the chunk times packed as they came."""
    messages = [
        common_pb2.RequestSample.FromString(
            to_message(one, common_pb2.RequestSample).SerializeToString()
        )
        for one in batch
    ]
    columns = flat_columns(messages, RequestSample)
    chunks = columns.pop("chunk_times_s")
    records = [from_message(message, RequestSample).model_dump() for message in messages]
    assert [pack_floats(record.pop("chunk_times_s")) for record in records] == chunks
    assert typed(columns) == typed({name: [r[name] for r in records] for name in columns})


class CheckedSample(RequestSample):
    @field_validator("run")
    @classmethod
    def _small(cls, run: int) -> int:
        assert run < 3
        return run


def test_flat_columns_refuse_models_they_would_not_validate() -> None:
    """What validation would check, or nested messages, need ``from_message``."""
    with pytest.raises(TypeError, match="validators"):
        flat_columns([common_pb2.RequestSample(run=5)], CheckedSample)
    with pytest.raises(TypeError, match="not a plain scalar field"):
        flat_columns([common_pb2.JobSpec()], JobSpec)


@settings(max_examples=60, deadline=None)
@given(readings)
def test_gpu_readings(reading: GpuReading) -> None:
    assert_round_trip(reading, common_pb2.GpuReading)


@settings(max_examples=40, deadline=None)
@given(hardware)
def test_hardware(info: HardwareInfo) -> None:
    assert_round_trip(info, common_pb2.HardwareInfo)


@settings(max_examples=60, deadline=None)
@given(job_specs)
def test_job_specs_with_every_engine_and_benchmark(spec: JobSpec) -> None:
    assert_round_trip(spec, common_pb2.JobSpec)


@settings(max_examples=40, deadline=None)
@given(run_results)
def test_run_results(results: RunResults) -> None:
    assert_round_trip(results, results_pb2.RunResults)


@settings(max_examples=40, deadline=None)
@given(imported_runs)
def test_imported_runs(run: ImportedRun) -> None:
    assert_round_trip(run, results_pb2.ImportedRun)


def test_template_arguments_keep_their_type() -> None:
    model = ModelSpec(
        name="m", engine="e", engine_args={"max_model_len": 32768, "scale": 1.0, "eager": True}
    )
    back = from_message(to_message(model, common_pb2.ModelSpec), ModelSpec)
    assert typed(back.engine_args) == {
        "max_model_len": ("int", 32768),
        "scale": ("float", 1.0),
        "eager": ("bool", True),
    }


def test_absent_is_not_zero_and_rates_may_be_infinite() -> None:
    bench = OpenLoopBenchmark(
        id="o",
        input_len=1,
        output_len=1,
        num_prompts=1,
        request_rate=[math.inf, 0.5],
        ignore_eos=False,
        max_concurrency=None,
    )
    message = to_message(bench, common_pb2.OpenLoopBenchmark)
    assert message.HasField("ignore_eos") and not message.HasField("max_concurrency")
    back = from_message(message, OpenLoopBenchmark)
    assert back.request_rate == [math.inf, 0.5] and back.ignore_eos is False
    assert back.max_concurrency is None
    stat = from_message(
        to_message(MetricStat(mean=0.0, std=None, n=0), results_pb2.MetricStat), MetricStat
    )
    assert (stat.mean, stat.std) == (0.0, None)


def test_maps_come_back_in_natural_key_order() -> None:
    limits = ["10000", "500", "a01", "2000", "²", "a1"]
    sweep = RateSweepSummary(capacity_by_slo_ms=dict.fromkeys(limits))
    back = from_message(to_message(sweep, results_pb2.RateSweepSummary), RateSweepSummary)
    assert list(back.capacity_by_slo_ms) == ["500", "2000", "10000", "a01", "a1", "²"]


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(text, metric_maps, max_size=3), maybe(json_objects))
def test_request_fields_tool_metrics_and_provenance(
    metrics: dict[str, dict[str, MetricStat]], provenance: dict[str, Any] | None
) -> None:
    tool = agent_pb2.ToolResult(job_id="j")
    set_field(tool, "metrics", metrics)
    back = get_field(
        agent_pb2.ToolResult.FromString(tool.SerializeToString()), "metrics", ToolMetrics
    )
    assert {
        v: {k: MetricStat(**s) for k, s in by_key.items()} for v, by_key in back.items()
    } == metrics
    status = agent_pb2.JobStatusRequest(job_id="j")
    set_field(status, "provenance", provenance)
    wire = agent_pb2.JobStatusRequest.FromString(status.SerializeToString())
    assert typed(get_field(wire, "provenance", dict[str, Any])) == typed(provenance)
