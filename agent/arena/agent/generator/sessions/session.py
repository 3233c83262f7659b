"""One session's turns, in order, on the open loop's timing policy.

A turn is due when the previous answer (and the sub-agents it spawned) ended plus its think
time × ``think_scale``; turn 0 when the load driver says the session starts. The request's
bytes are built before the due time (during the think time), ``sleep_until`` sends it on time,
and ``sent_s − scheduled_s`` is the send lag, recorded per request as in the open loop
(``queued_s`` = ``scheduled_s``: sessions have no client queue). A failed turn ends its
session: later turns, and sub-agents it would have spawned, are not sent; the session then
fails every SLO tier. A failed sub-agent ends only itself.

The conversation (``arena.common.traces.format``): system = salt line + the session's system
blocks; each user message = the turn's blocks + its own input (turn 0's opened by the session
marker); each answer re-sent as the engine produced it (``history: engine``) or as
synthesised text of the trace's length (``history: trace``). A sub-agent starts from a copy of
its parent's conversation up to the spawning answer; its own system blocks open its first
user message.
"""

import asyncio
from dataclasses import dataclass, field

import structlog

from arena.agent.generator.client import (
    ChatRequest,
    Measurement,
    encode_message,
    prepare_encoded,
    stream_chat,
)
from arena.agent.generator.context import RunContext
from arena.agent.generator.loop_lag import LoopMonitor
from arena.agent.generator.open_loop import CpuMeter, sleep_until
from arena.agent.generator.sessions.synth import (
    Synthesiser,
    join_parts,
    salt_line,
    session_marker,
)
from arena.common.metrics.sessions import turn_meets
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import SessionBenchmark
from arena.common.traces.format import Session, Turn

log = structlog.get_logger(__name__)

EMPTY_CONTENT = "."
"""Servers refuse an empty message; a turn with no text at all sends this one token."""


@dataclass
class Step:
    """One measured (load step, run): its salt, its sessions' met-flags, the client's spin time
    and the loop monitor that gives each request its read stall."""

    ctx: RunContext
    bench: SessionBenchmark
    synth: Synthesiser
    variant: str
    run: int
    salt: str
    """Opens every conversation of this step, so nothing cached before it can match."""
    busy_wait_s: float = 0.0
    sessions: int = 0
    """Measured sessions started."""
    requests: int = 0
    """Measured requests recorded."""
    fillers: int = 0
    met: dict[str, list[bool]] = field(default_factory=dict)
    """Per root session: whether every turn judged so far met each SLO tier (in order)."""
    unjudged: list[RequestSample] = field(default_factory=list)
    """Turns whose output tokens ``ctx.settle`` will count (the context holds them until then
    anyway): judged by ``attainment`` after it, on the counted tokens. A turn nothing will
    count is judged as it is recorded, so a long replay holds flags, not samples."""
    monitor: LoopMonitor | None = None
    """Watches the loop while the step runs (``read_stall_s``); None: no stall measured."""
    stalls: list[float] = field(default_factory=list)
    meter: CpuMeter | None = None

    def begin(self) -> None:
        """The step's clock starts (its first texts are decoded): the client's CPU from now."""
        self.meter = CpuMeter()

    def cpu_util(self) -> float:
        return 0.0 if self.meter is None else self.meter.utilisation(self.busy_wait_s)

    def new_label(self, measured: bool = True) -> str:
        """``s{n}``: the n-th measured session started in this run; ``f{n}`` a filler."""
        if not measured:
            self.fillers += 1
            return f"f{self.fillers - 1}"
        label = f"s{self.sessions}"
        self.sessions += 1
        return label

    def attainment(self, tier: int = 0) -> float | None:
        """Share (0..1) of the measured root sessions whose every recorded turn met
        ``bench.slo[tier]``; ``None`` without any (``metrics.sessions.session_attainment``).
        Call it after ``ctx.settle()``: the turns then judged carry the counted output tokens
        the controller judges them on."""
        held, self.unjudged = self.unjudged, []
        for sample in held:
            self._judge(sample)
        if not self.met:
            return None
        return sum(flags[tier] for flags in self.met.values()) / len(self.met)

    def _judge(self, sample: RequestSample) -> None:
        root = sample.root_session or sample.session or ""
        met = [turn_meets(sample, tier) for tier in self.bench.slo]
        kept = self.met.get(root)
        self.met[root] = met if kept is None else [a and b for a, b in zip(kept, met, strict=True)]

    def request(self, turn: Turn, key: str) -> ChatRequest:
        """The request's fields; its messages go as the conversation's encoded ones."""
        off = self.bench.prefix_cache == "off"
        return ChatRequest(
            [],
            turn.output_tokens,
            ignore_eos=True,
            cache_salt=f"{self.salt}-{key}" if off else None,
            collect_text=self.bench.history == "engine",
        )

    def record(self, m: Measurement, label: str, turn: int, due_s: float, max_tokens: int) -> None:
        stall = None
        if self.monitor is not None:
            stall = self.monitor.stall_between(m.sent_s, m.first_token_s)
            self.stalls.append(stall)
        sample = m.to_sample(
            benchmark=self.ctx.benchmark,
            variant=self.variant,
            run=self.run,
            index=self.requests,
            session=label,
            turn=turn,
            scheduled_s=due_s,
            queued_s=due_s,
            max_tokens=max_tokens,
            read_stall_s=stall,
        )
        self.requests += 1
        if self.ctx.keeps_answers:
            self.unjudged.append(sample)
        else:
            self._judge(sample)
        self.ctx.record(sample, m.answer())


async def _user_text(
    step: Step, session: Session, path: str, label: str, number: int, *, subagent: bool
) -> str:
    turn = session.turns[number]
    first = number == 0
    parts = [
        await step.synth.blocks(session.system_blocks) if first and subagent else "",
        await step.synth.blocks(turn.blocks),
        session_marker(label) if first else "",
        await step.synth.user_input(path, number, turn.input_tokens),
    ]
    return join_parts(parts) or EMPTY_CONTENT


async def _answer_text(step: Step, m: Measurement, path: str, number: int, tokens: int) -> str:
    if step.bench.history == "engine":
        return "".join(m.text or ()) or EMPTY_CONTENT
    return await step.synth.answer(path, number, tokens) or EMPTY_CONTENT


async def run_session(
    step: Step,
    session: Session,
    path: str,
    label: str,
    due_s: float,
    history: list[bytes] | None = None,
    *,
    measured: bool = True,
) -> bool:
    """Every turn of ``session`` (``path``: its place in the trace, for its text; ``label``:
    its samples' ``session``), turn 0 due at ``due_s``; ``history``: a sub-agent's start
    (its parent's messages, each JSON-encoded); ``measured=False``: a filler, nothing
    recorded. False when one of its own turns failed."""
    clock = step.ctx.clock
    subagent = history is not None
    if history is None:
        system = join_parts([salt_line(step.salt), await step.synth.blocks(session.system_blocks)])
        messages = [encode_message("system", system)]
    else:
        messages = history
    children = 0
    for number, turn in enumerate(session.turns):
        content = await _user_text(step, session, path, label, number, subagent=subagent)
        messages.append(encode_message("user", content))
        request = prepare_encoded(
            step.ctx.endpoint,
            step.request(turn, f"{label}-{number}"),
            messages,
            keep_answer=measured and step.ctx.keeps_answers,
        )
        step.busy_wait_s += await sleep_until(clock, due_s)
        measurement = await stream_chat(step.ctx.connections, request)
        if measured:
            step.record(measurement, label, number, due_s, turn.output_tokens)
        if measurement.error is not None or measurement.end_s is None:
            log.debug("turn failed; session ended", session=label, turn=number)
            return False
        answer = await _answer_text(step, measurement, path, number, turn.output_tokens)
        messages.append(encode_message("assistant", answer))
        ended_s = measurement.end_s
        if turn.subagents:
            spawned = []
            for child in turn.subagents:
                children += 1
                spawned.append(
                    run_session(
                        step,
                        child,
                        f"{path}.{children}",
                        f"{label}.{children}",
                        ended_s,
                        list(messages),
                        measured=measured,
                    )
                )
            await asyncio.gather(*spawned)
            ended_s = clock.now()
        due_s = ended_s + turn.think_s * step.bench.think_scale
    return True
