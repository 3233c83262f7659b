"""NVML readings through a stand-in of the vendor module: units, absent fields, no GPU."""

import pytest

from arena.agent.telemetry.nvml import NvmlReader, decode_throttle, open_nvml
from tests.telemetry_nvml_double import FakeNvml


def test_a_reading_has_every_field_in_arena_units() -> None:
    reader = open_nvml(FakeNvml([312.5, 250.0], throttle_mask=0x4 | 0x40))
    assert isinstance(reader, NvmlReader)
    assert reader.gpus == 2
    first, second = reader.read(12.5)
    assert (first.t_s, first.gpu, second.t_s, second.gpu) == (12.5, 0, 12.5, 1)
    assert first.power_w == 312.5
    assert second.power_w == 250.0
    assert first.energy_mj is not None and first.energy_mj >= 0
    assert (first.gpu_util_pct, first.mem_util_pct) == (97.0, 41.0)
    assert first.mem_used_mib == 2048.0
    assert (first.sm_mhz, first.mem_mhz) == (1980.0, 3201.0)
    assert first.temp_c == 61.0
    assert first.throttle_mask == 0x44
    assert first.throttle_reasons == ["sw_power_cap", "hw_thermal_slowdown"]


def test_unsupported_fields_are_absent_not_zero() -> None:
    nv = FakeNvml([100.0], unsupported=frozenset({"energy", "memory", "utilization", "throttle"}))
    reader = open_nvml(nv)
    assert isinstance(reader, NvmlReader)
    (reading,) = reader.read(0.0)
    assert reading.power_w == 100.0
    assert reading.energy_mj is None
    assert reading.mem_used_mib is None  # GB10: no dedicated memory to report
    assert reading.gpu_util_pct is None and reading.mem_util_pct is None
    assert reading.throttle_mask is None and reading.throttle_reasons == []


def test_older_library_reads_throttle_reasons() -> None:
    reader = open_nvml(FakeNvml([100.0], throttle_mask=0x1, event_reasons=False))
    assert isinstance(reader, NvmlReader)
    assert reader.read(0.0)[0].throttle_reasons == ["gpu_idle"]


@pytest.mark.parametrize(
    ("nv", "reason"),
    [
        (FakeNvml([], fail_init="Driver Not Loaded"), "NVML unavailable: Driver Not Loaded"),
        (FakeNvml([]), "NVML found no GPU"),
    ],
)
def test_no_gpu_is_a_reason_not_a_reader(nv: FakeNvml, reason: str) -> None:
    assert open_nvml(nv) == reason


def test_close_shuts_nvml_down() -> None:
    nv = FakeNvml([100.0])
    reader = open_nvml(nv)
    assert isinstance(reader, NvmlReader)
    reader.close()
    assert nv.shutdowns == 1


def test_decode_throttle_keeps_unknown_bits() -> None:
    assert decode_throttle(0) == []
    assert decode_throttle(0x8 | 0x10) == ["hw_slowdown", "sync_boost"]
    assert decode_throttle(0x1 | 0x1000) == ["gpu_idle", "other_0x1000"]
