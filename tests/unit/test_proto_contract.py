"""The .proto files are the whole contract: no JSON hidden in strings, and every schema that
crosses the wire has a message with the same fields (what arena.common.wire relies on)."""

import re
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from arena.common.pb.arena.v2 import common_pb2, results_pb2, user_pb2
from arena.common.schemas import (
    admission,
    agent,
    engine,
    imported,
    job,
    policy,
    results,
    sample,
    suite,
    telemetry,
    user,
)
from arena.common.wire import packed_twin
from tests.conftest import REPO

PROTOS = sorted((REPO / "proto").rglob("*.proto"))
FIELD = re.compile(r"^\s*(?:optional |repeated )?([\w.<>, ]+?)\s+(\w+)\s*=\s*\d+;(.*)$")
MIRRORED: list[type[BaseModel]] = [
    agent.GpuInfo,
    agent.HardwareInfo,
    engine.SimulatedEngine,
    engine.ExternalEngine,
    engine.DockerEngine,
    engine.ProcessEngine,
    suite.ClosedLoopBenchmark,
    suite.OpenLoopBenchmark,
    suite.SloTier,
    suite.TraceSource,
    suite.LoadSearch,
    suite.SessionBenchmark,
    suite.ModelSpec,
    job.JobSpec,
    job.JobProgress,
    sample.RequestSample,
    telemetry.GpuReading,
    results.MetricStat,
    results.VariantResult,
    results.EnergyFigures,
    results.LoadStep,
    results.AgentCapacity,
    results.BenchmarkResult,
    results.JobResult,
    results.RunResults,
    imported.ImportedStat,
    imported.ImportedVariant,
    imported.Provenance,
    imported.TelemetrySample,
    imported.CapacityPoint,
    imported.SweepStep,
    imported.RateSweepSummary,
    imported.ImportedBenchmark,
    imported.ImportedRun,
    imported.ImportOrigin,
    policy.AgentPolicy,
    policy.ImageRule,
    policy.DockerPolicy,
    policy.IntArg,
    policy.FloatArg,
    policy.ChoiceArg,
    policy.Recipe,
    policy.ProcessPolicy,
    policy.ExternalPolicy,
    admission.AgentRefusal,
    admission.JobAdmission,
    admission.SuiteAdmission,
    user.UserSummary,
]


def fields() -> list[tuple[str, str, str, str]]:
    found = []
    for path in PROTOS:
        for line in path.read_text().splitlines():
            if match := FIELD.match(line):
                found.append((path.name, match[1], match[2], match[3]))
    return found


def test_the_protocol_is_one_versioned_package() -> None:
    assert [p.relative_to(REPO / "proto").parent.as_posix() for p in PROTOS] == ["arena/v2"] * 4
    for path in PROTOS:
        assert "package arena.v2;" in path.read_text()


def test_no_field_carries_json() -> None:
    assert len(fields()) > 200
    for name, kind, field, comment in fields():
        assert not field.endswith("_json"), f"{name}: {field}"
        if kind == "string":
            assert "json" not in comment.lower(), f"{name}: {field} {comment}"


def message_for(model: type[BaseModel]) -> Any:
    for module in (common_pb2, results_pb2, user_pb2):
        if hasattr(module, model.__name__):
            return getattr(module, model.__name__)
    raise AssertionError(f"no message {model.__name__}")


@pytest.mark.parametrize("model", MIRRORED, ids=lambda m: m.__name__)
def test_every_schema_field_is_on_the_wire(model: type[BaseModel]) -> None:
    on_wire = set(message_for(model).DESCRIPTOR.fields_by_name)
    # wire.py's rule: a float list whose packed twin is on the wire travels in that twin only
    packed = {name for name in model.model_fields if packed_twin(name) in on_wire}
    assert not packed & on_wire
    on_wire = on_wire - {packed_twin(name) for name in packed} | packed
    discriminators = {
        name
        for name, info in model.model_fields.items()
        if len(get_args(info.annotation)) == 1 and str(info.annotation).startswith("typing.Literal")
    }
    assert on_wire == set(model.model_fields) - discriminators


def test_unions_are_oneofs_named_by_their_discriminator() -> None:
    engines = common_pb2.EngineProfile.DESCRIPTOR.oneofs_by_name["runtime"]
    assert {f.name: getattr(f.message_type, "name", None) for f in engines.fields} == {
        "simulated": "SimulatedEngine",
        "external": "ExternalEngine",
        "docker": "DockerEngine",
        "process": "ProcessEngine",
    }
    kinds = common_pb2.Benchmark.DESCRIPTOR.oneofs_by_name["kind"]
    assert {f.name: getattr(f.message_type, "name", None) for f in kinds.fields} == {
        "closed_loop": "ClosedLoopBenchmark",
        "open_loop": "OpenLoopBenchmark",
        "sessions": "SessionBenchmark",
    }
