"""``POST /v1/chat/completions``: one request's trip through the simulated batch.

The prompt is the message contents joined by newlines (no chat-template tokens), so a prompt of
N words costs N tokens. Output is exactly ``max_tokens`` words drawn from the vocabulary by a
per-request RNG (seeded by ``seed`` when given). Streams answer with headers as soon as the
request joins the batch; like vLLM, the role-only chunk goes out when prefill has produced the
first token, just before that token's chunk, then one chunk per token as the batch emits it.

With the engine's prefix cache on, the prompt's token ids are cut into blocks here; the batch
looks them up when it admits the request, and once the answer is complete its blocks (prompt
plus output, less the last output token, whose KV a real engine never computes) are cached
before the last bytes go out, so a client that sends the conversation on with this answer hits
them. ``usage.prompt_tokens_details.cached_tokens`` says how many prompt tokens were served
from the cache.
"""

import random
import time
import uuid

import structlog
from aiohttp import web

from arena.agent.simulated.api_models import (
    ChatRequest,
    check_context_length,
    messages_text,
    read_body,
)
from arena.agent.simulated.batching import Admitted, BatchScheduler
from arena.agent.simulated.chunks import DONE, ChunkEncoder, completion_body, token_content
from arena.agent.simulated.prefix_cache import BlockChain
from arena.agent.simulated.tokenizer import VOCAB_SIZE, count_tokens, encode

log = structlog.get_logger(__name__)

_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


class ChatCompletions:
    """The route handler, bound to one scheduler and one served model name."""

    def __init__(self, scheduler: BatchScheduler, model_name: str) -> None:
        self._scheduler = scheduler
        self._model_name = model_name

    async def handle(self, request: web.Request) -> web.StreamResponse:
        chat = await read_body(request, ChatRequest)
        text = messages_text(chat.messages)
        prompt = self._prompt_chain(chat, text)
        prompt_tokens = count_tokens(text) if prompt is None else prompt.token_count
        check_context_length(prompt_tokens, chat.output_tokens)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        rng = random.Random(completion_id if chat.seed is None else chat.seed)
        if chat.stream:
            return await self._stream(request, chat, prompt_tokens, prompt, completion_id, rng)
        return await self._complete(chat, prompt_tokens, prompt, completion_id, rng)

    def _prompt_chain(self, chat: ChatRequest, text: str) -> BlockChain | None:
        """The prompt's blocks, when the engine caches and the request lets it."""
        cache = self._scheduler.prefix_cache
        if cache is None or not chat.cache_prompt:
            return None
        chain = cache.chain(chat.cache_salt)
        chain.extend(encode(text))
        return chain

    def _remember(self, prompt: BlockChain | None, output_ids: list[int]) -> None:
        if prompt is not None:
            prompt.extend(output_ids[:-1])
            self._scheduler.remember(prompt)

    async def _stream(
        self,
        request: web.Request,
        chat: ChatRequest,
        prompt_tokens: int,
        prompt: BlockChain | None,
        completion_id: str,
        rng: random.Random,
    ) -> web.StreamResponse:
        encoder = ChunkEncoder(completion_id, int(time.time()), self._model_name)
        response = web.StreamResponse(headers=_SSE_HEADERS)
        pending: list[bytes] = []
        output_ids: list[int] = []
        cached_tokens = 0
        try:
            submitted = self._scheduler.submit(prompt_tokens, chat.output_tokens, prompt)
            async with submitted as stream:
                async for event in stream:
                    if isinstance(event, Admitted):
                        cached_tokens = event.cached_tokens
                        await response.prepare(request)
                        continue
                    if event.index == 0:
                        pending.append(encoder.role_chunk())
                    token_id = rng.randrange(VOCAB_SIZE)
                    output_ids.append(token_id)
                    pending.append(encoder.token_chunk(token_id, event.last))
                    if not stream.has_pending:  # a lagging reader gets its backlog in one write
                        await response.write(b"".join(pending))
                        pending.clear()
            self._remember(prompt, output_ids)
            if chat.include_usage:
                usage = encoder.usage_chunk(prompt_tokens, chat.output_tokens, cached_tokens)
                pending.append(usage)
            pending.append(DONE)
            await response.write(b"".join(pending))
            await response.write_eof()
        except ConnectionResetError:
            log.debug("client left mid-stream", completion_id=completion_id)
        return response

    async def _complete(
        self,
        chat: ChatRequest,
        prompt_tokens: int,
        prompt: BlockChain | None,
        completion_id: str,
        rng: random.Random,
    ) -> web.Response:
        created = int(time.time())
        token_ids: list[int] = []
        cached_tokens = 0
        async with self._scheduler.submit(prompt_tokens, chat.output_tokens, prompt) as stream:
            async for event in stream:
                if isinstance(event, Admitted):
                    cached_tokens = event.cached_tokens
                else:
                    token_ids.append(rng.randrange(VOCAB_SIZE))
        self._remember(prompt, token_ids)
        content = "".join(token_content(token_id) for token_id in token_ids)
        body = completion_body(
            completion_id,
            created,
            self._model_name,
            content,
            prompt_tokens,
            len(token_ids),
            cached_tokens,
        )
        return web.json_response(body)
