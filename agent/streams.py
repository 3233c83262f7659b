"""The streams of a job attempt (samples, engine log lines, GPU telemetry) as spool-backed
outboxes."""

from collections.abc import Callable
from typing import Any

from agent.link import ControllerLink
from agent.outbox import Outbox
from agent.spool import Spool, StreamKey
from shared.schemas.sample import RequestSample
from shared.schemas.telemetry import GpuReading

SAMPLES = "samples"
LOGS = "logs"
TELEMETRY = "telemetry"


def sample_outbox(
    spool: Spool, link: ControllerLink, job_id: str, attempt: int, batch: int, interval_s: float
) -> Outbox[RequestSample]:
    async def send(first_seq: int, samples: Any) -> int:
        return await link.push_samples(job_id, attempt, first_seq, samples)

    return Outbox(
        spool,
        StreamKey(job_id, attempt, SAMPLES),
        send,
        encode=lambda sample: sample.model_dump(exclude_defaults=True),
        decode=RequestSample.model_validate,
        batch_size=batch,
        interval_s=interval_s,
    )


def log_outbox(
    spool: Spool, link: ControllerLink, job_id: str, attempt: int, batch: int, interval_s: float
) -> Outbox[str]:
    async def send(first_seq: int, lines: Any) -> int:
        return await link.push_logs(job_id, attempt, first_seq, lines)

    return Outbox(
        spool,
        StreamKey(job_id, attempt, LOGS),
        send,
        encode=str,
        decode=str,
        batch_size=batch,
        interval_s=interval_s,
    )


def telemetry_outbox(
    spool: Spool, link: ControllerLink, job_id: str, attempt: int, batch: int, interval_s: float
) -> Outbox[GpuReading]:
    async def send(first_seq: int, readings: Any) -> int:
        return await link.push_telemetry(job_id, attempt, first_seq, readings)

    return Outbox(
        spool,
        StreamKey(job_id, attempt, TELEMETRY),
        send,
        encode=lambda reading: reading.model_dump(exclude_defaults=True),
        decode=GpuReading.model_validate,
        batch_size=batch,
        interval_s=interval_s,
    )


MakeOutbox = Callable[[Spool, ControllerLink, str, int, int, float], Outbox[Any]]
_OUTBOXES: dict[str, MakeOutbox] = {
    SAMPLES: sample_outbox,
    LOGS: log_outbox,
    TELEMETRY: telemetry_outbox,
}


def outbox_for(
    spool: Spool, link: ControllerLink, key: StreamKey, batch: int, interval_s: float
) -> Outbox[Any]:
    return _OUTBOXES[key.stream](spool, link, key.job_id, key.attempt, batch, interval_s)
