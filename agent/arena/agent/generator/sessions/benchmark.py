"""A session benchmark: its load steps (fixed, or found by the capacity search) × runs.

Each (step, run) gets a fresh random salt (its conversations share nothing with any earlier
step's) and, for ``prefix_cache: on``, the engine's prefix cache is reset before it where the
engine allows (``reset_cache``), so every measured step starts cold either way. A step passes
when its sessions' attainment of the first SLO tier (``metrics.sessions``), averaged over its
runs, meets ``attainment`` (``step_passes``); each step is logged and noted in the job log.
Texts are synthesised as sessions need them (``synth.py``, ``loads.Lookahead``), never the
whole trace up front.
"""

import secrets
from collections.abc import Awaitable, Callable, Sequence

import structlog

from arena.agent.generator.client import ChatRequest, prepare, stream_chat
from arena.agent.generator.context import RunContext
from arena.agent.generator.gc_freeze import frozen_heap
from arena.agent.generator.loop_lag import LoopMonitor
from arena.agent.generator.open_loop import ClientLoad
from arena.agent.generator.sessions.loads import run_rate, run_replay, run_users
from arena.agent.generator.sessions.search import CapacitySearch
from arena.agent.generator.sessions.session import Step
from arena.agent.generator.sessions.synth import Synthesiser
from arena.agent.generator.tokens import Tokenizer
from arena.common.metrics.client_load import read_stall_p99_ms
from arena.common.metrics.sessions import step_attainment, step_passes
from arena.common.schemas.suite import SessionBenchmark
from arena.common.suites.variants import SessionVariant, session_variant, session_variants
from arena.common.traces.format import Trace

log = structlog.get_logger(__name__)

ResetCache = Callable[[], Awaitable[bool]]
WARMUP = ChatRequest([{"role": "user", "content": "hello"}], max_tokens=4)
"""One unreported request before the first step, as the open loop sends (engines warm up)."""
UNIT = {"users": "users", "session_rate": "sessions/s"}


def _load(load: float | None) -> str:
    return "none" if load is None else f"{load:g}"


class SessionRunner:
    def __init__(
        self,
        ctx: RunContext,
        bench: SessionBenchmark,
        trace: Trace,
        *,
        runs: int,
        seed: int,
        tokenizer: Tokenizer,
        pool: Sequence[int],
        reset_cache: ResetCache | None,
    ) -> None:
        self.ctx = ctx
        self.bench = bench
        self.trace = trace
        self.runs = runs
        self.seed = seed
        answers = bench.history == "trace"
        self.synth = Synthesiser(tokenizer, pool, seed, trace.header.block_size, answers=answers)
        self.reset_cache = reset_cache
        self.loads: list[ClientLoad] = []

    async def run(self) -> list[ClientLoad]:
        try:
            return await self._run()
        finally:
            await self.synth.close()

    async def _run(self) -> list[ClientLoad]:
        await stream_chat(self.ctx.connections, prepare(self.ctx.endpoint, WARMUP))
        if self.bench.search is None:
            steps = session_variants(self.bench)
            for position, step in enumerate(steps):
                await self.measure(step, steps_left=len(steps) - position - 1)
            return self.loads
        search = CapacitySearch(self.bench.search)
        while (load := search.next_load()) is not None:
            left = self.bench.search.max_steps - len(search.steps) - 1
            variant = session_variant(self.bench.search.over, load)
            passed = await self.measure(variant, steps_left=left)
            search.record(load, passed)
        self._note(
            f"{self.bench.id} capacity search over {self.bench.search.over}: highest passing "
            f"step {_load(search.passing)}, lowest failing step {_load(search.failing)} "
            f"({len(search.steps)} steps measured)"
        )
        return self.loads

    async def measure(self, load: SessionVariant, *, steps_left: int) -> bool:
        """Every run of one load step; True when it met the first tier's attainment target."""
        tier = self.bench.slo[0]
        attainments: list[float | None] = []
        for run in range(self.runs):
            step = await self._run_step(load, run)
            await self.ctx.settle()
            attainments.append(step.attainment())
            self._estimate(step.requests, runs_left=(self.runs - run - 1) + steps_left * self.runs)
        mean = step_attainment(attainments)
        passed = step_passes(attainments, self.bench.attainment)
        log.info(
            "session load step",
            benchmark=self.bench.id,
            variant=load.key,
            load=load.load,
            tier=tier.name,
            attainment=mean,
            passed=passed,
        )
        what = f"{load.load:g} {UNIT[load.over]}" if load.over in UNIT else "trace timestamps"
        self._note(
            f"{self.bench.id} step {load.key} ({what}): {tier.name} met by "
            f"{mean * 100:.1f} % of sessions (target {self.bench.attainment * 100:g} %): "
            + ("pass" if passed else "fail")
        )
        return passed

    async def _run_step(self, load: SessionVariant, run: int) -> Step:
        cache_on = self.bench.prefix_cache == "on"
        if cache_on and self.reset_cache is not None and not await self.reset_cache():
            log.info("prefix cache not reset; the new salt keeps the step cold")
        monitor = LoopMonitor(self.ctx.clock)
        step = Step(self.ctx, self.bench, self.synth, load.key, run, secrets.token_hex(6))
        step.monitor = monitor
        with frozen_heap():
            async with monitor:
                await self._drive(step, load)
        self.loads.append(
            ClientLoad(
                load.key,
                run,
                1,
                step.cpu_util(),
                step.busy_wait_s,
                loop_lag_p99_ms=monitor.p99_ms(),
                loop_lag_max_ms=monitor.max_ms(),
                read_stall_p99_ms=read_stall_p99_ms(step.stalls),
            )
        )
        return step

    async def _drive(self, step: Step, load: SessionVariant) -> None:
        if load.over == "users":
            await run_users(step, self.trace.sessions, int(load.load), self.bench.step_s)
        elif load.over == "session_rate":
            await run_rate(step, self.trace.sessions, load.load, self.bench.step_s, self.seed)
        else:
            await run_replay(step, self.trace.sessions)

    def _estimate(self, last_run_requests: int, runs_left: int) -> None:
        """Progress total: what is done plus the runs still planned at the last run's size."""
        self.ctx.total = self.ctx.done + runs_left * max(last_run_requests, 1)

    def _note(self, line: str) -> None:
        if self.ctx.note is not None:
            self.ctx.note(line)
