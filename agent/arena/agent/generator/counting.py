"""Output tokens counted by the model's tokenizer, once per request, as it completes.

``usage.completion_tokens`` is whatever the engine says, and engines have said 54 for an answer
streamed as 64 tokens; one token per chunk is wrong wherever a chunk carries several. So every
successful request's streamed answer (reasoning and content, as ``Answer`` kept it) is counted
by the tokenizer the job already has (the engine's ``/tokenize`` or the suite's local
``tokenizer.json``) as its request completes, through the ``ServerTokenizer``'s two
connections, which queue the rest; its sample follows (``RunContext``). Counting at the end of
a run instead kept every sample of the run out of the agent's durable spool until then, and a
kill -9 lost them: the fault tests caught it. The calls reach the engine while the run goes on
(one short ``/tokenize`` per request, as cheap as the detokenising the engine does anyway).
``usage`` stays in ``completion_tokens``; ``metrics.tokens.output_tokens`` decides which count
every metric reads.

Every call has ended before its sample is handed on (``count_answers`` runs its counts in one
task group; the first failure cancels the rest). An answer that stopped at its end token gets
that token counted where usage says one more (``metrics.tokens.with_end_token``).

A request whose answer held a tool call is not counted (its arguments were not kept), nor one
whose text does not decode; a tokenizer that fails leaves that request uncounted, with one
warning, and the metrics fall back to ``usage``. A random-weight model's answers are not
counted at all (``run_benchmark(count_tokens=False)``): its tokens are drawn at random, and
their text re-tokenises to other, more tokens (+6 to +12 % on the tests' tiny llama.cpp model),
where a trained model's text re-tokenises to what it generated.
"""

import asyncio
from collections.abc import Sequence

import structlog

from arena.agent.generator.client import Answer, escaped_text
from arena.agent.generator.tokens import Tokenizer, TokenizerError
from arena.common.metrics.tokens import with_end_token
from arena.common.schemas.sample import RequestSample

log = structlog.get_logger(__name__)

MAX_COUNTED_CHARS = 4_000_000
"""An answer longer than this (far beyond any ``max_tokens`` a suite may ask) is not sent to
the tokenizer: a server that streams without end must not make the count a second attack."""


async def _count(tokenizer: Tokenizer, text: str) -> int:
    return len(await tokenizer.encode(text)) if text else 0


async def _count_one(tokenizer: Tokenizer, sample: RequestSample, answer: Answer) -> None:
    if not sample.ok or answer.tool_calls:
        return
    if len(answer.reasoning) + len(answer.content) > MAX_COUNTED_CHARS:
        return
    reasoning, content = escaped_text(answer.reasoning), escaped_text(answer.content)
    if reasoning is None or content is None:
        return
    reasoning_tokens = await _count(tokenizer, reasoning)
    counted = reasoning_tokens + await _count(tokenizer, content)
    sample.counted_output_tokens = with_end_token(
        counted, sample.completion_tokens, answer.finish_reason
    )
    if reasoning and not answer.reasoning_counted_by_usage:
        sample.reasoning_tokens = reasoning_tokens


async def count_answers(
    tokenizer: Tokenizer, answered: Sequence[tuple[RequestSample, Answer]]
) -> None:
    """Set ``counted_output_tokens`` (and ``reasoning_tokens`` where usage gave none) on each
    successful sample from its answer; leaves them unset if the tokenizer fails."""
    try:
        async with asyncio.TaskGroup() as group:  # a failure cancels the rest and awaits them
            for sample, answer in answered:
                group.create_task(_count_one(tokenizer, sample, answer))
    except* (TokenizerError, OSError, ValueError) as failed:
        error = failed.exceptions[0]
        log.warning("output tokens not counted; metrics use usage", error=str(error))
        for sample, _ in answered:
            sample.counted_output_tokens = None
