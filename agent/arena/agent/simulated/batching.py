"""Continuous batching in simulated time: the part of the engine that decides when tokens appear.

The model is a loop of steps. At the start of a step, waiting sequences join the batch in
arrival order while there is room (``max_batch``). The step lasts

    uncached prompt tokens of the admitted sequences / prefill_tokens_per_s
    + decode_step_ms + decode_step_ms_per_seq × (sequences in the batch − 1)

and at its end every sequence in the batch emits one token; a sequence joined in this step emits
its first token at the end of the step that prefilled it. A sequence leaves after ``max_tokens``
tokens. ``decode_drift_pct_per_s`` lengthens the decode part by wall time since the engine
started, idle time included. Steps follow each other on absolute monotonic deadlines, so a late
wake-up shortens the next wait instead of delaying every later token; the loop sleeps while
nothing runs.

So one request alone sees TTFT ≈ (prompt − cached)/prefill_tokens_per_s + decode_step_ms and
then 1000/decode_step_ms tokens per second.

With the engine's prefix cache on, the cache is consulted when a sequence joins the batch (as
vLLM does at scheduling time, not on arrival), one sequence after another in arrival order, and
each admitted prompt's blocks enter the cache at once: a request admitted in the same step
behind another with the same prefix hits it. A request's output blocks enter the cache when its
handler has the output (``remember``); a request that leaves early leaves its prompt blocks.
"""

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass
from types import TracebackType

import structlog

from arena.agent.simulated.metrics import EngineCounters
from arena.agent.simulated.prefix_cache import BlockChain, PrefixCache
from arena.common.schemas.engine import SimulatedEngine

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Admitted:
    """The sequence joined the batch: its prefill runs in the current step."""

    cached_tokens: int = 0
    """Prompt tokens served from the prefix cache, so not prefilled."""


@dataclass(frozen=True, slots=True)
class TokenEmitted:
    index: int
    """0-based position of the token in the output."""
    last: bool


SequenceEvent = Admitted | TokenEmitted


def decode_s(engine: SimulatedEngine, batch_size: int, running_s: float = 0.0) -> float:
    """The decode part of a step for ``batch_size`` sequences, ``running_s`` after the engine
    started: ``decode_drift_pct_per_s`` lengthens it by wall time since the start, idle time
    included (a heating GPU, not a count of tokens)."""
    decode_ms = engine.decode_step_ms + engine.decode_step_ms_per_seq * max(batch_size - 1, 0)
    decode_ms += engine.decode_step_ms * engine.decode_drift_pct_per_s / 100 * running_s
    return decode_ms / 1000.0


def step_duration_s(
    engine: SimulatedEngine, prefill_tokens: int, batch_size: int, running_s: float = 0.0
) -> float:
    """Length of one step that prefills ``prefill_tokens`` and decodes ``batch_size`` sequences,
    ``running_s`` after the engine started."""
    return prefill_tokens / engine.prefill_tokens_per_s + decode_s(engine, batch_size, running_s)


class _Sequence:
    __slots__ = ("key", "prompt_tokens", "prompt", "max_tokens", "admitted", "emitted", "events")

    def __init__(
        self, key: int, prompt_tokens: int, prompt: BlockChain | None, max_tokens: int
    ) -> None:
        self.key = key
        self.prompt_tokens = prompt_tokens
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.admitted = False
        self.emitted = 0
        self.events: asyncio.Queue[SequenceEvent] = asyncio.Queue()


class BatchScheduler:
    """Runs the step loop; use as ``async with BatchScheduler(engine) as scheduler``."""

    def __init__(self, engine: SimulatedEngine) -> None:
        self.engine = engine
        self._waiting: deque[_Sequence] = deque()
        self._running: dict[int, _Sequence] = {}
        self._wakeup = asyncio.Event()
        self._keys = itertools.count()
        self._loop_task: asyncio.Task[None] | None = None
        self.counters = EngineCounters()
        self.prefix_cache = (
            PrefixCache(engine.prefix_cache_blocks, engine.prefix_cache_block_size)
            if engine.prefix_cache
            else None
        )

    @property
    def running_count(self) -> int:
        return len(self._running)

    @property
    def waiting_count(self) -> int:
        return len(self._waiting)

    def submit(
        self, prompt_tokens: int, max_tokens: int, prompt: BlockChain | None = None
    ) -> "SequenceStream":
        """A stream of events for one request; it queues on entering and leaves on exit.

        ``prompt`` is the prompt's block chain (``prefix_cache.chain()``) when the request
        may use the prefix cache; without it, or with the cache off, every token is prefilled.
        """
        if prompt_tokens < 0 or max_tokens < 1:
            raise ValueError("need prompt_tokens >= 0 and max_tokens >= 1")
        if prompt is not None and prompt.token_count != prompt_tokens:
            raise ValueError("the prompt's chain and prompt_tokens disagree")
        sequence = _Sequence(next(self._keys), prompt_tokens, prompt, max_tokens)
        return SequenceStream(self, sequence)

    def remember(self, chain: BlockChain) -> None:
        """Cache a finished request's prompt and output blocks (a no-op with the cache off)."""
        if self.prefix_cache is not None:
            self.prefix_cache.insert(chain.keys)

    def reset_prefix_cache(self) -> None:
        if self.prefix_cache is not None:
            self.prefix_cache.clear()

    async def __aenter__(self) -> "BatchScheduler":
        self._loop_task = asyncio.create_task(self._run(), name="simulated-batch-loop")
        self._loop_task.add_done_callback(_log_loop_failure)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None

    def _enqueue(self, sequence: _Sequence) -> None:
        self._waiting.append(sequence)
        self._wakeup.set()

    def _release(self, sequence: _Sequence) -> None:
        """Forget a sequence wherever it is (finished, cancelled or disconnected)."""
        if sequence.admitted:
            self._running.pop(sequence.key, None)
        else:
            self._waiting.remove(sequence)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        started = step_start = loop.time()
        while True:
            if not self._running and not self._waiting:
                self._wakeup.clear()
                await self._wakeup.wait()
                step_start = loop.time()
            prefill_tokens = self._admit()
            running, running_s = len(self._running), step_start - started
            decoding_s = decode_s(self.engine, running, running_s)
            deadline = step_start + step_duration_s(self.engine, prefill_tokens, running, running_s)
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._emit(decoding_s)
            step_start = deadline

    def _admit(self) -> int:
        """Move waiting sequences into the batch (FIFO); returns the prompt tokens to prefill."""
        prefill_tokens = 0
        while self._waiting and len(self._running) < self.engine.max_batch:
            sequence = self._waiting.popleft()
            sequence.admitted = True
            self._running[sequence.key] = sequence
            cached = self._look_up(sequence)
            prefill_tokens += sequence.prompt_tokens - cached
            sequence.events.put_nowait(Admitted(cached))
        return prefill_tokens

    def _look_up(self, sequence: _Sequence) -> int:
        """Count the admitted prompt, and consult and fill the prefix cache for it."""
        self.counters.prompt_tokens += sequence.prompt_tokens
        if self.prefix_cache is None:
            return 0
        self.counters.prefix_cache_queries += sequence.prompt_tokens
        if sequence.prompt is None:
            return 0
        cached = self.prefix_cache.cached_tokens(sequence.prompt)
        self.prefix_cache.insert(sequence.prompt.keys)
        self.counters.prefix_cache_hits += cached
        return cached

    def _emit(self, decoding_s: float) -> None:
        """Every running sequence's token; generation seconds count the step's decode part only
        (as llama.cpp's ``tokens_predicted_seconds``): a step that also prefilled admitted
        prompts would otherwise inflate the engine's time per output token under mixed load."""
        self.counters.generation_tokens += len(self._running)
        self.counters.generation_seconds += decoding_s * len(self._running)
        for sequence in list(self._running.values()):
            index = sequence.emitted
            sequence.emitted += 1
            last = sequence.emitted == sequence.max_tokens
            sequence.events.put_nowait(TokenEmitted(index, last))
            if last:
                del self._running[sequence.key]


def _log_loop_failure(task: "asyncio.Task[None]") -> None:
    """The loop never ends on its own; if it fails, every open request would hang silently."""
    if not task.cancelled() and task.exception() is not None:
        log.error("simulated batch loop failed", exc_info=task.exception())


class SequenceStream:
    """One request's view of the batch: ``async with`` it, then iterate its events.

    Yields ``Admitted`` once, then one ``TokenEmitted`` per token; leaving the ``async with``
    (normally, by error or by cancellation) frees the sequence's place in the batch.
    """

    def __init__(self, scheduler: BatchScheduler, sequence: _Sequence) -> None:
        self._scheduler = scheduler
        self._sequence = sequence
        self._finished = False

    @property
    def has_pending(self) -> bool:
        """True when more events are already available without waiting."""
        return not self._sequence.events.empty()

    async def __aenter__(self) -> "SequenceStream":
        self._scheduler._enqueue(self._sequence)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._scheduler._release(self._sequence)

    def __aiter__(self) -> "SequenceStream":
        return self

    async def __anext__(self) -> SequenceEvent:
        if self._finished:
            raise StopAsyncIteration
        event = await self._sequence.events.get()
        if isinstance(event, TokenEmitted) and event.last:
            self._finished = True
        return event
