"""How sessions start during one measured step: N users, a session rate, or the trace's times.

- ``users`` N (closed loop): N users each take the next session of the trace and run it to its
  end, back to back, until ``step_s`` has passed; sessions in flight then run to their end.
  The trace is taken in order and starts over when exhausted. A user whose sessions failed
  ``USER_GIVES_UP_AFTER`` times in a row stops.
- ``session_rate`` r (open loop): ⌈r · step_s⌉ sessions start on the open loop's seeded
  arrival schedule (``arrivals.py``: Poisson, or gamma with ``burstiness``), trace in order,
  starting over when exhausted; all are run to their end.
- ``replay_timestamps``: every session of the trace once, each at its own ``arrival_s``.

Session starts use the same absolute send times as every turn: a session is handed to its
task ``PREPARE_LEAD_S`` before it is due, so its first request is built before its time.
"""

import asyncio
import math
from collections.abc import Coroutine, Sequence
from typing import Any

from arena.agent.generator.arrivals import arrival_offsets
from arena.agent.generator.client import start_now
from arena.agent.generator.open_loop import START_LEAD_S
from arena.agent.generator.sessions.session import Step, run_session
from arena.common.traces.format import Session

PREPARE_LEAD_S = 0.05
USER_GIVES_UP_AFTER = 3
"""Failed sessions in a row after which a user stops for the rest of the step: an engine that
refuses every request at once would otherwise be sent thousands of sessions a second."""


class SessionFeed:
    """The trace's sessions in order, starting over when exhausted: (session, path)."""

    def __init__(self, sessions: Sequence[Session]) -> None:
        if not sessions:
            raise ValueError("the trace has no sessions")
        self._sessions = sessions
        self._next = 0

    def take(self) -> tuple[Session, str]:
        position = self._next % len(self._sessions)
        self._next += 1
        return self._sessions[position], str(position)


async def _all(coroutines: list[Coroutine[Any, Any, None]]) -> None:
    """Run them as eager tasks; cancelling the caller cancels every one."""
    tasks = [start_now(coroutine) for coroutine in coroutines]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_users(step: Step, sessions: Sequence[Session], users: int, step_s: float) -> None:
    clock = step.ctx.clock
    feed = SessionFeed(sessions)
    end_s = clock.now() + step_s

    async def user() -> None:
        failed_in_a_row = 0
        while clock.now() < end_s and failed_in_a_row < USER_GIVES_UP_AFTER:
            session, path = feed.take()
            ok = await run_session(step, session, path, step.new_label(), clock.now())
            failed_in_a_row = 0 if ok else failed_in_a_row + 1

    await _all([user() for _ in range(users)])


async def _start_at(step: Step, starts: Sequence[tuple[float, Session, str]]) -> None:
    """Start each (offset, session, path) at ``now + START_LEAD_S + offset``."""
    clock = step.ctx.clock
    origin = clock.now() + START_LEAD_S
    tasks: list[asyncio.Task[bool]] = []
    try:
        for offset, session, path in starts:
            due_s = origin + offset
            wait = due_s - PREPARE_LEAD_S - clock.now()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(start_now(run_session(step, session, path, step.new_label(), due_s)))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_rate(
    step: Step, sessions: Sequence[Session], rate: float, step_s: float, seed: int
) -> None:
    feed = SessionFeed(sessions)
    count = max(1, math.ceil(rate * step_s))
    offsets = arrival_offsets(count, rate, step.bench.burstiness, seed)
    await _start_at(step, [(offset, *feed.take()) for offset in offsets])


def replay_starts(sessions: Sequence[Session]) -> list[tuple[float, Session, str]]:
    """Every session at its ``arrival_s``, in time order; a session without one is an error."""
    starts: list[tuple[float, Session, str]] = []
    for position, session in enumerate(sessions):
        if session.arrival_s is None:
            raise ValueError(
                f"replay_timestamps: session {session.id!r} (#{position + 1}) has no arrival_s"
            )
        starts.append((session.arrival_s, session, str(position)))
    return sorted(starts, key=lambda start: start[0])


async def run_replay(step: Step, sessions: Sequence[Session]) -> None:
    await _start_at(step, replay_starts(sessions))
