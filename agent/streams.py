"""The two streams of a job attempt, samples and engine log lines, as spool-backed outboxes."""

from typing import Any

from agent.link import ControllerLink
from agent.outbox import Outbox
from agent.spool import Spool, StreamKey
from shared.schemas.sample import RequestSample

SAMPLES = "samples"
LOGS = "logs"


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


def outbox_for(
    spool: Spool, link: ControllerLink, key: StreamKey, batch: int, interval_s: float
) -> Outbox[Any]:
    make = sample_outbox if key.stream == SAMPLES else log_outbox
    return make(spool, link, key.job_id, key.attempt, batch, interval_s)
