"""The agent's durable outbox: every sample and log line is committed to a local SQLite file
before anything tries to send it, and deleted only once the controller acknowledged it.

Streams are keyed by (job, attempt, stream) and numbered from 1. After a crash or a restart the
agent finds whatever was not acknowledged here and sends it; the controller's contiguous ack
and upsert rule make the resend exactly-once.
"""

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
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
