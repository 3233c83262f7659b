"""The agent's upload queue: every sample, log line and telemetry reading of a job attempt is
committed to a local SQLite spool before anything tries to send it, uploaded in numbered
batches, and deleted only once the controller acknowledged it.

Streams are keyed by (job, attempt, stream) and numbered from 1. ``Outbox.put`` writes to the
spool (local disk, never the network), so measurement never waits on the upload path; the
``run`` task uploads from the spool. A lost connection means a retry from the last acknowledged
sequence; after a crash or a restart the agent finds whatever was not acknowledged and sends
it. The controller's contiguous ack and upsert rule make every resend exactly-once.
"""

import asyncio
import contextlib
import json
import shutil
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import structlog

from arena.agent.link import ControllerLink
from arena.common.private import make_private, private_file
from arena.common.retry import Backoff, retry
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    job_id TEXT NOT NULL, attempt INTEGER NOT NULL, stream TEXT NOT NULL, seq INTEGER NOT NULL,
    payload TEXT NOT NULL, PRIMARY KEY (job_id, attempt, stream, seq)
);
CREATE TABLE IF NOT EXISTS streams (
    job_id TEXT NOT NULL, attempt INTEGER NOT NULL, stream TEXT NOT NULL,
    last_seq INTEGER NOT NULL, acked_seq INTEGER NOT NULL, finished INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, attempt, stream)
);
"""


@dataclass(frozen=True)
class StreamKey:
    job_id: str
    attempt: int
    stream: str


@dataclass(frozen=True)
class StreamState:
    key: StreamKey
    last_seq: int
    acked_seq: int
    finished: bool


class Spool:
    """One SQLite file per agent; safe to share between the event loop and worker threads."""

    def __init__(self, path: Path) -> None:
        make_private(path.parent)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            private_file(path), check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # survives a process crash, not power loss
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def open_stream(self, key: StreamKey) -> StreamState:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO streams VALUES (?, ?, ?, 0, 0, 0)",
                (key.job_id, key.attempt, key.stream),
            )
            return self._state(key)

    def _state(self, key: StreamKey) -> StreamState:
        row = self._db.execute(
            "SELECT last_seq, acked_seq, finished FROM streams "
            "WHERE job_id = ? AND attempt = ? AND stream = ?",
            (key.job_id, key.attempt, key.stream),
        ).fetchone()
        return StreamState(key, row[0], row[1], bool(row[2]))

    def append(self, key: StreamKey, payload: Any) -> int:
        """Commit one item; returns its sequence number."""
        data = json.dumps(payload, separators=(",", ":"))
        with self._lock:
            self._db.execute("BEGIN")
            try:
                (seq,) = self._db.execute(
                    "UPDATE streams SET last_seq = last_seq + 1 "
                    "WHERE job_id = ? AND attempt = ? AND stream = ? RETURNING last_seq",
                    (key.job_id, key.attempt, key.stream),
                ).fetchone()
                self._db.execute(
                    "INSERT INTO items VALUES (?, ?, ?, ?, ?)",
                    (key.job_id, key.attempt, key.stream, seq, data),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return int(seq)

    def pending(self, key: StreamKey, limit: int) -> list[tuple[int, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, payload FROM items WHERE job_id = ? AND attempt = ? AND stream = ? "
                "ORDER BY seq LIMIT ?",
                (key.job_id, key.attempt, key.stream, limit),
            ).fetchall()
        return [(seq, json.loads(payload)) for seq, payload in rows]

    def acknowledge(self, key: StreamKey, acked_seq: int) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "DELETE FROM items WHERE job_id = ? AND attempt = ? AND stream = ? AND seq <= ?",
                (key.job_id, key.attempt, key.stream, acked_seq),
            )
            self._db.execute(
                "UPDATE streams SET acked_seq = MAX(acked_seq, ?) "
                "WHERE job_id = ? AND attempt = ? AND stream = ?",
                (acked_seq, key.job_id, key.attempt, key.stream),
            )
            self._db.execute("COMMIT")

    def finish(self, key: StreamKey) -> None:
        """The job is over and its stream fully acknowledged: forget it."""
        with self._lock:
            self._db.execute(
                "DELETE FROM streams WHERE job_id = ? AND attempt = ? AND stream = ?",
                (key.job_id, key.attempt, key.stream),
            )
            self._db.execute(
                "DELETE FROM items WHERE job_id = ? AND attempt = ? AND stream = ?",
                (key.job_id, key.attempt, key.stream),
            )

    def leftovers(self) -> Iterator[StreamState]:
        """Streams a previous run of the agent did not finish (crash, kill -9, reboot)."""
        with self._lock:
            rows = self._db.execute("SELECT job_id, attempt, stream FROM streams").fetchall()
            states = [self._state(StreamKey(*row)) for row in rows]
        yield from states

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path.parent).free


log = structlog.get_logger(__name__)

T = TypeVar("T")
UPLOAD_BACKOFF = Backoff(first_s=0.5, cap_s=10.0)
Send = Callable[[int, Sequence[T]], Awaitable[int]]
"""Upload items numbered from the given first sequence; returns the controller's ack."""


class Outbox(Generic[T]):
    def __init__(
        self,
        spool: Spool,
        key: StreamKey,
        send: Send[T],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
        batch_size: int = 200,
        interval_s: float = 0.5,
    ) -> None:
        self.spool = spool
        self.key = key
        self._send = send
        self._encode = encode
        self._decode = decode
        self.batch_size = batch_size
        self.interval_s = interval_s
        state = spool.open_stream(key)
        self.last_seq = state.last_seq
        self.acked_seq = state.acked_seq
        self._wakeup = asyncio.Event()
        self._acked = asyncio.Condition()

    def put(self, item: T) -> None:
        self.last_seq = self.spool.append(self.key, self._encode(item))
        if self.last_seq - self.acked_seq >= self.batch_size:
            self._wakeup.set()

    async def run(self) -> None:
        """Upload until cancelled; a ConflictError (stale attempt) ends the task with it."""
        while True:
            if self.acked_seq >= self.last_seq:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that races with the event being set, and the uploader would never stop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval_s):
                        await self._wakeup.wait()
                self._wakeup.clear()
                continue
            await retry(
                self._send_one_batch,
                "upload",
                backoff=UPLOAD_BACKOFF,
                stream=self.key.stream,
                job_id=self.key.job_id,
            )

    async def _send_one_batch(self) -> None:
        pending = await asyncio.to_thread(self.spool.pending, self.key, self.batch_size)
        if not pending:
            return
        items = [self._decode(payload) for _, payload in pending]
        acked = await self._send(pending[0][0], items)
        await asyncio.to_thread(self.spool.acknowledge, self.key, acked)
        async with self._acked:
            self.acked_seq = max(self.acked_seq, acked)
            self._acked.notify_all()

    async def flush(self) -> None:
        """Wait until the controller has acknowledged every item put so far."""
        self._wakeup.set()
        async with self._acked:
            await self._acked.wait_for(lambda: self.acked_seq >= self.last_seq)

    def finish(self) -> None:
        """Forget the stream once the job is over and everything is acknowledged."""
        if self.acked_seq >= self.last_seq:
            self.spool.finish(self.key)


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
