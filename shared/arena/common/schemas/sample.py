"""One measured request: the raw material every metric is computed from.

All times are seconds on the agent's monotonic clock, relative to the job's origin
(`JobClock.origin`), so request samples and telemetry share one time axis.

This class is the only definition of a sample's fields: the controller's ``samples`` table
(``SampleRow``) inherits them and adds its keys and column types. It is plain pydantic, so
arenactl and the agent load no SQLAlchemy.
"""

from pydantic import Field

from arena.common.schemas.base import ArenaModel


class RequestSample(ArenaModel):
    benchmark: str
    """Benchmark id inside the suite, e.g. ``01-chat``."""
    variant: str
    """Variant key from ``arena.common.suites.variants``: ``pp1024/tg1024/d0/c5``, ``rate0.3``."""
    run: int
    """0-based run index (the methodology runs each variant 3 times)."""
    index: int
    """Request index inside the run."""
    scheduled_s: float | None = None
    """Intended send time (open loop); ``None`` for closed loop, which sends when a slot frees."""
    queued_s: float | None = None
    """When the request passed the client's max-concurrency gate (open loop); client queue time
    is ``queued_s - scheduled_s``, kept out of latency."""
    sent_s: float
    """Actual start of the HTTP request (timer started just before the POST, as vLLM does)."""
    first_response_s: float | None = None
    """First SSE chunk carrying any ``choices`` (llama-benchy's ttfr)."""
    first_token_s: float | None = None
    """First chunk whose delta carries generated output: content, reasoning or tool calls
    (vLLM's TTFT; a role-only chunk does not count)."""
    end_s: float | None = None
    """Arrival of the last chunk (or of the error)."""
    chunk_times_s: list[float] = Field(default_factory=list)
    """Arrival time of every chunk that carried generated output, first one included (sent and
    stored packed: ``schemas.packed``)."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    """Output tokens from the server's ``usage``; ``None`` when the server sent none."""
    max_tokens: int | None = None
    """Requested output length (``max_tokens``)."""
    error: str | None = None
    """Error text (HTTP status and body, or the exception); ``None`` for a success."""
    baseline_latency_s: float | None = None
    """Closed loop: the latency measured before the benchmark (llama-benchy ``--latency-mode``),
    subtracted from ttfr to estimate prompt processing time."""

    session: str | None = None
    """Session benchmarks: the session this request belongs to (``s12``; a sub-agent spawned
    by it is ``s12.1``, its own sub-agents ``s12.1.3``); ``None`` for single requests."""
    turn: int | None = None
    """0-based turn of the request within its session."""
    cached_tokens: int | None = None
    """Prompt tokens the engine served from its prefix cache, as its ``usage`` reported them
    (``prompt_tokens_details.cached_tokens``); ``None`` when it did not say."""
    first_content_s: float | None = None
    """First chunk carrying answer ``content`` (or a tool call), after any reasoning: time to
    first content. Equals ``first_token_s`` unless the model reasoned first."""
    reasoning_tokens: int | None = None
    """Output tokens in the reasoning channel (``reasoning_content``/``reasoning``): the usage's
    ``completion_tokens_details.reasoning_tokens``, else the tokenizer's count of the streamed
    reasoning, else one per reasoning chunk; ``None`` when nothing was reasoned."""
    counted_output_tokens: int | None = None
    """Output tokens (reasoning and content) counted by the model's tokenizer on the answer as
    streamed; ``None`` without a tokenizer. ``completion_tokens`` keeps what ``usage`` said."""
    written_s: float | None = None
    """When the write of the request returned; ``sent_s`` is stamped just before the write."""
    read_stall_s: float | None = None
    """Longest the client's event loop ran late (timer overshoot beyond the selector's 1 ms
    granularity, ``loop_lag``) between ``sent_s`` and the first token: how much the client
    itself may have added to this request's TTFT."""

    @property
    def root_session(self) -> str | None:
        """The top-level session (sub-agents belong to the session that spawned them)."""
        return None if self.session is None else self.session.split(".", 1)[0]

    @property
    def ok(self) -> bool:
        return self.error is None and self.end_s is not None
