"""What both loops share while a benchmark runs: connections, the clock, and the outlets.

Every completion refreshes the progress counters. Without a tokenizer a sample is handed to
the sink the moment its request completes (the agent queues them for upload); with one, its
answer's output tokens are counted first (``counting.py``), while the run goes on, and the
sample follows a few milliseconds later: samples reach the agent's durable spool one by one,
so a crash loses none that were counted, and ``settle`` waits for the last of a run.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import structlog

from arena.agent.generator.client import Answer, Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.generator.counting import count_answers
from arena.agent.generator.http import Connections
from arena.agent.generator.tokens import Tokenizer, TokenizerError, counts_exactly, exact_lengths
from arena.common.schemas.sample import RequestSample

log = structlog.get_logger(__name__)

SampleSink = Callable[[RequestSample], None]
"""Must not block: called on the event loop for every completed request."""


@dataclass(frozen=True)
class Progress:
    benchmark: str
    variant: str
    run: int
    done: int
    """Measured requests completed so far in this benchmark (warm-ups excluded)."""
    total: int
    errors: int
    output_tokens: int


ProgressSink = Callable[[Progress], None]
NoteSink = Callable[[str], None]
"""A line for the job's log (``arenactl logs``): why the run deviated from its plan."""


class RunBounds(Protocol):
    """Called around each measured (variant, run), warm-ups excluded: the agent reads the
    engine's own counters there, so engine-side timings are known per run."""

    async def started(self, variant: str, run: int) -> None: ...

    async def finished(self, variant: str, run: int) -> None: ...


@dataclass
class RunContext:
    session: aiohttp.ClientSession
    """For the calls beside the measured requests (model list, latency probes)."""
    connections: Connections
    """For the measured requests."""
    endpoint: Endpoint
    clock: JobClock
    sink: SampleSink
    progress: ProgressSink | None
    benchmark: str
    total: int
    note: NoteSink | None = None
    bounds: RunBounds | None = None
    tokenizer: Tokenizer | None = None
    """Counts each answer's output tokens before its sample goes on; ``None``: at once."""
    live: SampleSink | None = None
    """Sees each sample the moment its request completes, before it is counted (the agent's
    live request and token rates)."""
    done: int = 0
    errors: int = 0
    output_tokens: int = 0
    counting: dict["asyncio.Task[None]", RequestSample] = field(default_factory=dict)
    """Samples whose answers are being counted, by the task counting them."""
    exact: bool | None = None
    """Whether the tokenizer counts the model's own tokens; asked once, at the first count."""

    @asynccontextmanager
    async def measured_run(self, variant: str, run: int) -> AsyncIterator[None]:
        """Wrap one measured run: ``bounds`` hears its start and its end."""
        if self.bounds is not None:
            await self.bounds.started(variant, run)
        try:
            yield
        finally:
            if self.bounds is not None:
                await self.bounds.finished(variant, run)

    @property
    def keeps_answers(self) -> bool:
        """Whether answers' text is kept for ``settle`` to count (``Prepared.keep_answer``):
        not without a tokenizer, nor with one known to be approximate."""
        return self.tokenizer is not None and exact_lengths(self.tokenizer)

    def record(self, sample: RequestSample, answer: Answer | None = None) -> None:
        if self.live is not None:
            self.live(sample)
        if self.tokenizer is None or answer is None:
            self.sink(sample)
        else:
            task = asyncio.get_running_loop().create_task(self._count_then_sink(sample, answer))
            self.counting[task] = sample
        self.done += 1
        self.errors += 0 if sample.ok else 1
        if sample.completion_tokens is not None:
            self.output_tokens += sample.completion_tokens
        else:
            self.output_tokens += len(sample.chunk_times_s)
        if self.progress is not None:
            self.progress(
                Progress(
                    benchmark=self.benchmark,
                    variant=sample.variant,
                    run=sample.run,
                    done=self.done,
                    total=self.total,
                    errors=self.errors,
                    output_tokens=self.output_tokens,
                )
            )

    async def _count_then_sink(self, sample: RequestSample, answer: Answer) -> None:
        """Count one answer's output tokens, then hand its sample on: samples keep reaching
        the agent's durable spool one by one as the run goes on, a few milliseconds late. An
        approximate tokenizer (an endpoint without one) counts nothing: its lengths are no
        check on the engine's usage; one still undecided is asked first."""
        assert self.tokenizer is not None
        try:
            if self.exact is None:
                try:
                    self.exact = await counts_exactly(self.tokenizer)
                except TokenizerError as exc:
                    log.warning("output tokens not counted; metrics use usage", error=str(exc))
                    self.exact = False
            if self.exact:
                await count_answers(self.tokenizer, [(sample, answer)])
        except Exception:  # a count is a check, never a reason to lose the sample
            log.exception("counting an answer failed; its sample goes on uncounted")
        task = asyncio.current_task()
        if task is not None:
            self.counting.pop(task, None)
        self.sink(sample)

    async def settle(self) -> None:
        """After a run: wait until every answer of it is counted and its sample handed on."""
        while self.counting:
            await asyncio.gather(*self.counting, return_exceptions=True)

    def release(self) -> None:
        """Hand on every sample still being counted, as it is (a run cut short: uncounted,
        still kept); its count is cancelled."""
        held, self.counting = self.counting, {}
        for task, sample in held.items():
            task.cancel()
            self.sink(sample)
