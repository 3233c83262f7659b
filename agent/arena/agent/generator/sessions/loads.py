"""How sessions start during one measured step: N users, a session rate, or the trace's times.

- ``users`` N (closed loop): N users each take the next session of the trace and run it to its
  end, back to back; a session started before ``step_s`` has passed is *measured*. The trace
  is taken in order and starts over when exhausted. A user whose sessions failed
  ``USER_GIVES_UP_AFTER`` times in a row stops.
- ``session_rate`` r (open loop): sessions start on the open loop's seeded arrival schedule
  (``arrivals.py``: Poisson, or gamma with ``burstiness``), trace in order, starting over when
  exhausted; the first ⌈r · step_s⌉ are measured.
- ``replay_timestamps``: every session of the trace once, each at its own ``arrival_s``; all
  measured.

The drain: a step ends when its last measured session ended, and the load stays what the step
says until then. A user whose measured session ended after ``step_s`` starts *filler*
sessions (same trace feed and salt, nothing recorded: ``session.run_session(measured=False)``);
at a rate, the same seeded schedule goes on with filler arrivals. Without them the step's
last sessions would run under a falling load and be judged as if loaded (a coding trace's
tail is about 40 % of a step's turns). A replay has no filler: the trace is the load.
The drain is capped: ``step_s`` after the last measured session could start (users: at
2 × ``step_s``; rate: the last measured arrival + ``step_s``; replay: the last arrival +
``step_s``) everything still running is cancelled; a measured session cut there is judged on
the turns it recorded (the one in flight is not recorded), and the job log says how many were.

Session starts use the same absolute send times as every turn: a session is handed to its
task ``PREPARE_LEAD_S`` before it is due, so its first request is built before its time.

Texts (``synth.py``): before a step's clock starts, the texts of the first sessions it will
start are decoded (``Lookahead.ready``: users: 2 N sessions; a rate or a replay: the sessions
of the first ``PREFETCH_AHEAD_S`` at the mean rate; at least ``PREFETCH_MIN_SESSIONS``), and
each session started has the one that many places later prefetched in the background, so a
turn finds its text decoded unless the tokenizer falls behind the sessions' starts.
"""

import asyncio
import math
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog

from arena.agent.generator.arrivals import arrival_offsets
from arena.agent.generator.client import start_now
from arena.agent.generator.open_loop import START_LEAD_S
from arena.agent.generator.sessions.session import Step, run_session
from arena.agent.generator.sessions.synth import Synthesiser
from arena.common.traces.format import Session

log = structlog.get_logger(__name__)

PREPARE_LEAD_S = 0.05
PREFETCH_AHEAD_S = 10.0
"""A rate step or a replay decodes the texts of sessions this far ahead of their start."""
PREFETCH_MIN_SESSIONS = 4
USER_GIVES_UP_AFTER = 3
"""Failed sessions in a row after which a user stops for the rest of the step: an engine that
refuses every request at once would otherwise be sent thousands of sessions a second."""


Order = Callable[[int], tuple[Session, str] | None]
"""The n-th session a step starts (with its path in the trace); ``None`` past its last."""


class Lookahead:
    """Keeps the texts of the ``ahead`` sessions after the last one started decoded."""

    def __init__(self, synth: Synthesiser, order: Order, ahead: int) -> None:
        self._synth = synth
        self._order = order
        self.ahead = max(PREFETCH_MIN_SESSIONS, ahead)

    async def ready(self) -> None:
        """Before the step: the texts of its first ``ahead`` sessions."""
        first = (self._order(number) for number in range(self.ahead))
        await self._synth.warm([item for item in first if item is not None])

    def started(self, number: int) -> None:
        """The ``number``-th session started: prefetch the one ``ahead`` places later."""
        item = self._order(number + self.ahead)
        if item is not None:
            self._synth.prefetch(*item)


class SessionFeed:
    """The trace's sessions in order, starting over when exhausted: (session, path)."""

    def __init__(self, sessions: Sequence[Session]) -> None:
        if not sessions:
            raise ValueError("the trace has no sessions")
        self._sessions = sessions
        self._next = 0
        self.lookahead: Lookahead | None = None

    def at(self, number: int) -> tuple[Session, str]:
        position = number % len(self._sessions)
        return self._sessions[position], str(position)

    def take(self) -> tuple[Session, str]:
        taken = self.at(self._next)
        if self.lookahead is not None:
            self.lookahead.started(self._next)
        self._next += 1
        return taken


class Drain:
    """Counts a step's measured sessions in flight; drained once none runs and none can start."""

    def __init__(self) -> None:
        self.in_flight = 0
        self._closed = False
        self._drained = asyncio.Event()

    @property
    def done(self) -> bool:
        return self._drained.is_set()

    def measured(self, session: Coroutine[Any, Any, bool]) -> Coroutine[Any, Any, bool]:
        """``session``, counted in flight from now until it ends."""
        self.in_flight += 1
        return self._counted(session)

    async def _counted(self, session: Coroutine[Any, Any, bool]) -> bool:
        try:
            return await session
        finally:
            self.in_flight -= 1
            self._check()

    def close(self) -> None:
        """No measured session starts after this."""
        self._closed = True
        self._check()

    async def wait(self) -> None:
        await self._drained.wait()

    def _check(self) -> None:
        if self._closed and self.in_flight == 0:
            self._drained.set()


async def _until_drained(
    step: Step, drain: Drain, cap_s: float, work: list[Coroutine[Any, Any, None]]
) -> None:
    """Run ``work`` until the drain ends, all of it returned, or ``cap_s``; then cancel what
    still runs (fillers, and at the cap measured sessions too)."""
    clock = step.ctx.clock
    tasks = [start_now(coroutine) for coroutine in work]
    everything: asyncio.Future[Any] = asyncio.gather(*tasks)
    drained: asyncio.Future[Any] = asyncio.ensure_future(drain.wait())
    try:
        done, _ = await asyncio.wait(
            {everything, drained},
            timeout=max(0.0, cap_s - clock.now()),
            return_when=asyncio.FIRST_COMPLETED,
        )
        if everything in done:
            everything.result()
        elif not done and drain.in_flight:
            log.info("step cut at its cap", variant=step.variant, cut=drain.in_flight)
            if step.ctx.note is not None:
                step.ctx.note(
                    f"{step.bench.id} step {step.variant} run {step.run}: {drain.in_flight} "
                    f"measured sessions still running {step.bench.step_s:g} s after the last "
                    "could start were cut there, judged on the turns they recorded"
                )
    finally:
        for task in tasks:
            task.cancel()
        drained.cancel()
        await asyncio.gather(everything, drained, return_exceptions=True)


async def run_users(step: Step, sessions: Sequence[Session], users: int, step_s: float) -> None:
    clock = step.ctx.clock
    feed = SessionFeed(sessions)
    feed.lookahead = Lookahead(step.synth, feed.at, 2 * users)
    await feed.lookahead.ready()
    step.begin()
    drain = Drain()
    end_s = clock.now() + step_s

    async def user() -> None:
        failed_in_a_row = 0
        while clock.now() < end_s and failed_in_a_row < USER_GIVES_UP_AFTER:
            session, path = feed.take()
            session_run = run_session(step, session, path, step.new_label(), clock.now())
            ok = await drain.measured(session_run)
            failed_in_a_row = 0 if ok else failed_in_a_row + 1
        while not drain.done and failed_in_a_row < USER_GIVES_UP_AFTER:
            session, path = feed.take()
            label = step.new_label(measured=False)
            ok = await run_session(step, session, path, label, clock.now(), measured=False)
            failed_in_a_row = 0 if ok else failed_in_a_row + 1

    async def close_at_end() -> None:
        await asyncio.sleep(max(0.0, end_s - clock.now()))
        drain.close()

    closer = asyncio.ensure_future(close_at_end())
    try:
        await _until_drained(step, drain, end_s + step_s, [user() for _ in range(users)])
    finally:
        closer.cancel()
        await asyncio.gather(closer, return_exceptions=True)


@dataclass(frozen=True)
class Start:
    offset_s: float
    session: Session
    path: str
    measured: bool = True


async def _start_at(step: Step, starts: Sequence[Start], step_s: float) -> None:
    """Start each session at ``now + START_LEAD_S + offset``; fillers only until the drain
    ends; capped ``step_s`` after the last measured start."""
    clock = step.ctx.clock
    span_s = max(starts[-1].offset_s - starts[0].offset_s, 1.0) if starts else 1.0
    ahead = math.ceil(len(starts) / span_s * PREFETCH_AHEAD_S)
    lookahead = Lookahead(step.synth, partial(_start_item, starts), ahead)
    await lookahead.ready()
    step.begin()
    origin = clock.now() + START_LEAD_S
    drain = Drain()
    measured = [number for number, start in enumerate(starts) if start.measured]
    last = measured[-1] if measured else -1
    last_s = starts[last].offset_s if measured else 0.0

    async def arrivals() -> None:
        tasks: list[asyncio.Task[bool]] = []
        try:
            for number, start in enumerate(starts):
                if drain.done:
                    break
                due_s = origin + start.offset_s
                wait = due_s - PREPARE_LEAD_S - clock.now()
                if wait > 0:
                    await asyncio.sleep(wait)
                lookahead.started(number)
                label = step.new_label(start.measured)
                run = run_session(
                    step, start.session, start.path, label, due_s, measured=start.measured
                )
                tasks.append(start_now(drain.measured(run) if start.measured else run))
                if number == last:
                    drain.close()
            drain.close()
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    await _until_drained(step, drain, origin + last_s + step_s, [arrivals()])


def _start_item(starts: Sequence[Start], number: int) -> tuple[Session, str] | None:
    return (starts[number].session, starts[number].path) if number < len(starts) else None


FILLER_SCHEDULE = 3
"""A rate step's schedule holds this many times its measured arrivals: the rest are fillers,
enough to keep arriving past the cap (the last measured arrival + ``step_s``)."""


async def run_rate(
    step: Step, sessions: Sequence[Session], rate: float, step_s: float, seed: int
) -> None:
    feed = SessionFeed(sessions)
    measured = max(1, math.ceil(rate * step_s))
    offsets = arrival_offsets(FILLER_SCHEDULE * measured + 1, rate, step.bench.burstiness, seed)
    starts = [
        Start(offset, *feed.take(), measured=number < measured)
        for number, offset in enumerate(offsets)
    ]
    await _start_at(step, starts, step_s)


def replay_starts(sessions: Sequence[Session]) -> list[Start]:
    """Every session at its ``arrival_s``, in time order; a session without one is an error."""
    starts: list[Start] = []
    for position, session in enumerate(sessions):
        if session.arrival_s is None:
            raise ValueError(
                f"replay_timestamps: session {session.id!r} (#{position + 1}) has no arrival_s"
            )
        starts.append(Start(session.arrival_s, session, str(position)))
    return sorted(starts, key=lambda start: start.offset_s)


async def run_replay(step: Step, sessions: Sequence[Session]) -> None:
    await _start_at(step, replay_starts(sessions), step.bench.step_s)
