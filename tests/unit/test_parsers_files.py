"""meta.json, the rate-sweep summary and the telemetry CSV."""

import json

import pytest

from arena.common.parsers import ParseError
from arena.common.parsers.meta import hardware_name, parse_meta
from arena.common.parsers.rate_sweep import parse_summary
from arena.common.parsers.session_results import parse_session_results
from arena.common.parsers.telemetry_csv import parse_telemetry
from arena.common.schemas.imported import SPARK_HARDWARE


def test_meta_maps_spark_spellings_and_keeps_provenance() -> None:
    meta = parse_meta(
        json.dumps(
            {
                "profile": "fp8",
                "model": "org/m",
                "hardware": "DGX Spark NVIDIA GB10 128GB unified",
                "vllm_image": "img:1",
                "driver_version": "580.1",
                "server_config": {"max_model_len": 4096},
            }
        )
    )
    assert (meta.model, meta.profile, meta.hardware) == ("org/m", "fp8", SPARK_HARDWARE)
    assert meta.provenance.image == "img:1" and meta.provenance.driver == "580.1"
    assert meta.provenance.hardware_reported == "DGX Spark NVIDIA GB10 128GB unified"
    assert meta.provenance.server_config == {"max_model_len": 4096}
    assert hardware_name("NVIDIA H200 141GB") == "NVIDIA H200 141GB"


def test_meta_keeps_an_arena_exports_quick_factor() -> None:
    """``arena.quick`` when the export wrote it; before that key, the suite YAML it carries."""
    assert parse_meta('{"arena": {"quick": 0.1}}').provenance.quick == 0.1
    older = {"arena": {"suite_yaml": "name: s\nquick: 0.05\nbenchmarks: []\n"}}
    assert parse_meta(json.dumps(older)).provenance.quick == 0.05
    assert parse_meta('{"model": "m"}').provenance.quick is None  # a reference folder
    with pytest.raises(ParseError, match="arena.quick"):
        parse_meta('{"arena": {"quick": 2}}')


def test_meta_names_the_engine_that_ran() -> None:
    """vLLM for the reference's folders (its image and version), an arena export's runtime."""
    assert parse_meta('{"vllm_image": "vllm/vllm-openai:v0.26.0"}').provenance.engine == "vllm"
    assert parse_meta('{"vllm_version_reported": "0.26.0"}').provenance.engine == "vllm"
    exported = {"vllm_image": "ghcr.io/ggml-org/llama.cpp", "arena": {"engine_runtime": "llamacpp"}}
    assert parse_meta(json.dumps(exported)).provenance.engine == "llamacpp"
    assert parse_meta('{"model": "m"}').provenance.engine is None


def test_meta_that_is_not_an_object_is_an_error() -> None:
    with pytest.raises(ParseError, match="expected a JSON object"):
        parse_meta("[]")


def test_rate_sweep_summary_keeps_capacity_and_abort() -> None:
    summary = parse_summary(
        json.dumps(
            {
                "aborted_at_rps": 0.2,
                "queue_knee_rps": None,
                "capacity_by_slo_ms": {
                    "2000": None,
                    "5000": {"configured_rps": 0.1, "achieved_rps": 0.096, "ttft_p95_ms": 2674.8},
                },
                "steps": [{"configured_rps": 0.1, "completed": 100, "ttft_p95_ms": 2674.8}],
            }
        )
    )
    assert summary.aborted_at_rps == 0.2
    assert summary.capacity_by_slo_ms["2000"] is None
    point = summary.capacity_by_slo_ms["5000"]
    assert point is not None and point.configured_rps == 0.1
    assert summary.steps[0].completed == 100


def test_rate_sweep_summary_with_a_bad_value_names_it() -> None:
    with pytest.raises(ParseError, match=r"capacity_by_slo_ms\.5000"):
        parse_summary(json.dumps({"capacity_by_slo_ms": {"5000": {"configured_rps": "x"}}}))


def test_telemetry_skips_only_the_bad_row_and_reads_not_available_as_none() -> None:
    text = (
        "elapsed_s,power_w,temp_c,sm_mhz,gpu_util,mem_used_mb\n"
        "10,38.05,53,2528,96,122875\n"
        "20,3x.1,55,2509,96,122832\n"
        "30,[N/A],57,2509,96,122825\n"
    )
    telemetry = parse_telemetry(text)
    assert [s.elapsed_s for s in telemetry.samples] == [10.0, 30.0]
    assert telemetry.samples[0].power_w == 38.05 and telemetry.samples[1].power_w is None
    assert telemetry.problems == ["line 3: power_w '3x.1' is not a number"]
    assert telemetry.gaps == ["power_w: 1 row(s) without a value (first line 4), kept as empty"]


def test_telemetry_without_the_expected_header_is_an_error() -> None:
    with pytest.raises(ParseError, match="header lacks"):
        parse_telemetry("time,watts\n1,2\n")


def session_file(**fields: object) -> str:
    benchmark = {"kind": "sessions", "id": "chat", "trace": {"profile": "chat"}, "users": [1]}
    document = {"format": "arena-session-results", "benchmark": benchmark, "samples": []}
    return json.dumps(document | fields)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"gpus": 0}, "gpus"),  # per-GPU capacity divides by it
        ({"gpus": -8}, "gpus"),
        ({"client_load": {"u1": {"0": -0.5}}}, "client_load.u1.0"),
    ],
)
def test_a_session_file_with_an_impossible_box_or_client_figure_is_an_error(
    fields: dict[str, object], named: str
) -> None:
    assert parse_session_results(session_file()).gpus is None
    with pytest.raises(ParseError, match=named):
        parse_session_results(session_file(**fields))
