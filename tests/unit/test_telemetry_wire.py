"""Readings survive the wire unchanged: absent fields stay absent, zeros stay zeros."""

from arena.common.pb.arena.v2 import common_pb2
from arena.common.schemas.telemetry import GpuReading
from arena.common.wire import from_message, to_message


def reading_to_pb(reading: GpuReading) -> common_pb2.GpuReading:
    return to_message(reading, common_pb2.GpuReading)


def reading_from_pb(message: common_pb2.GpuReading) -> GpuReading:
    return from_message(message, GpuReading)


def test_round_trip_keeps_none_and_zero_apart() -> None:
    full = GpuReading(
        t_s=3.25,
        gpu=1,
        power_w=0.0,
        energy_mj=123456789.0,
        gpu_util_pct=0.0,
        mem_util_pct=12.0,
        mem_used_mib=2048.0,
        sm_mhz=1980.0,
        mem_mhz=3201.0,
        temp_c=61.0,
        throttle_mask=0x44,
        throttle_reasons=["sw_power_cap", "hw_thermal_slowdown"],
    )
    sparse = GpuReading(t_s=0.0, gpu=0, power_w=41.5)
    for reading in (full, sparse):
        assert reading_from_pb(reading_to_pb(reading)) == reading
    assert reading_from_pb(reading_to_pb(sparse)).energy_mj is None
