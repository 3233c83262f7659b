"""Conversion between protobuf messages and the pydantic schemas, in one place.

Only this module, the controller's servicers and the agent's link import ``arena.common.pb``.
"""

from arena.common.pb.arena.v1 import agent_pb2
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading

_OPTIONAL_SAMPLE_FIELDS = (
    "scheduled_s",
    "queued_s",
    "first_response_s",
    "first_token_s",
    "end_s",
    "prompt_tokens",
    "completion_tokens",
    "max_tokens",
    "error",
    "baseline_latency_s",
)


def sample_to_pb(sample: RequestSample) -> agent_pb2.Sample:
    message = agent_pb2.Sample(
        benchmark=sample.benchmark,
        variant=sample.variant,
        run=sample.run,
        index=sample.index,
        sent_s=sample.sent_s,
        chunk_times_s=sample.chunk_times_s,
    )
    for name in _OPTIONAL_SAMPLE_FIELDS:
        value = getattr(sample, name)
        if value is not None:
            setattr(message, name, value)
    return message


def sample_from_pb(message: agent_pb2.Sample) -> RequestSample:
    optional = {
        name: getattr(message, name) if message.HasField(name) else None  # type: ignore[arg-type]
        for name in _OPTIONAL_SAMPLE_FIELDS
    }
    return RequestSample(
        benchmark=message.benchmark,
        variant=message.variant,
        run=message.run,
        index=message.index,
        sent_s=message.sent_s,
        chunk_times_s=list(message.chunk_times_s),
        **optional,
    )


_OPTIONAL_READING_FIELDS = (
    "power_w",
    "energy_mj",
    "gpu_util_pct",
    "mem_util_pct",
    "mem_used_mib",
    "sm_mhz",
    "mem_mhz",
    "temp_c",
    "throttle_mask",
)


def reading_to_pb(reading: GpuReading) -> agent_pb2.GpuReading:
    message = agent_pb2.GpuReading(
        t_s=reading.t_s, gpu=reading.gpu, throttle_reasons=reading.throttle_reasons
    )
    for name in _OPTIONAL_READING_FIELDS:
        value = getattr(reading, name)
        if value is not None:
            setattr(message, name, value)
    return message


def reading_from_pb(message: agent_pb2.GpuReading) -> GpuReading:
    optional = {
        name: getattr(message, name) if message.HasField(name) else None  # type: ignore[arg-type]
        for name in _OPTIONAL_READING_FIELDS
    }
    return GpuReading(
        t_s=message.t_s,
        gpu=message.gpu,
        throttle_reasons=list(message.throttle_reasons),
        **optional,
    )
