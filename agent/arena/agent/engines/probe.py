"""Questions asked of a running engine: its version and slots, a sanity answer, its own metrics.

Policy: an engine that cannot answer the sanity request with a chat completion fails the job
(``sanity generation failed: …``), since its numbers would measure something else; the
chat-template probe is a refinement, so its failure only leaves prompts unadapted.

No request to an engine follows a redirect (here, in the health probes, the generator and the
tokenizer): an engine may be a submitter's code, and its ``Location`` would send the agent to
a host the policy does not list, the box's own loopback included.
"""

import json
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from arena.common.errors import EngineError
from arena.common.metrics.engine_slots import EngineSlots, slots_of

SANITY_PROMPT = "What is the capital of France? Answer in one word."
TIMEOUT = aiohttp.ClientTimeout(total=60)

# Prometheus histograms whose (sum, count) deltas give the engine's own mean per benchmark.
ENGINE_HISTOGRAMS = {
    "ttft_ms": ("vllm:time_to_first_token_seconds", 1000.0),
    "tpot_ms": ("vllm:time_per_output_token_seconds", 1000.0),
    "itl_ms": ("vllm:inter_token_latency_seconds", 1000.0),
    "e2el_ms": ("vllm:e2e_request_latency_seconds", 1000.0),
}
# Counters whose deltas are reported as they are. llama.cpp's prompt_tokens_total counts only
# the prompt tokens it computed (cached ones are in prompt_tokens_cached_total).
ENGINE_COUNTERS = {
    "prompt_tokens": (
        "vllm:prompt_tokens_total",
        "llamacpp:prompt_tokens_total",
        "arena_sim:prompt_tokens_total",
    ),
    "generation_tokens": (
        "vllm:generation_tokens_total",
        "llamacpp:tokens_predicted_total",
        "arena_sim:generation_tokens_total",
    ),
    "prompt_seconds": ("llamacpp:prompt_seconds_total",),
    "generation_seconds": (
        "llamacpp:tokens_predicted_seconds_total",
        "arena_sim:generation_seconds_total",
    ),
    "prefix_cache_queries": (
        "vllm:prefix_cache_queries_total",
        "vllm:gpu_prefix_cache_queries_total",
        "arena_sim:prefix_cache_queries_total",
        "sglang:prompt_tokens_total",  # every prompt token, cached ones included
    ),
    "prefix_cache_hits": (
        "vllm:prefix_cache_hits_total",
        "vllm:gpu_prefix_cache_hits_total",
        "llamacpp:prompt_tokens_cached_total",
        "arena_sim:prefix_cache_hits_total",
        "sglang:cached_tokens_total",  # newer SGLang; summed over its cache_source labels
    ),
    # speculative decoding (vLLM); keys as in ``vllm bench serve``'s result JSON
    "spec_decode_num_drafts": ("vllm:spec_decode_num_drafts_total",),
    "spec_decode_draft_tokens": ("vllm:spec_decode_num_draft_tokens_total",),
    "spec_decode_accepted_tokens": ("vllm:spec_decode_num_accepted_tokens_total",),
}
LLAMACPP_CACHED = "llamacpp:prompt_tokens_cached_total"
LLAMACPP_COMPUTED = "llamacpp:prompt_tokens_total"
SGLANG_HIT_RATE = "sglang:cache_hit_rate"
"""A gauge (0..1) of SGLang's recent prefix hits, not a counter: read once, after the run, and
only where the SGLang is too old to count cached tokens."""
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEinfNa]+)")


FIRST_BYTES = 120
"""How much of an unexpected answer a reason quotes."""


def answer_json(status: int, text: str, what: str) -> dict[str, Any]:
    """The JSON object a non-streaming request should get back, or an ``EngineError`` that says
    what came instead (an error status, a stream, HTML), so a job fails with a reason rather
    than a bare ``JSONDecodeError``."""
    first = text[:FIRST_BYTES]
    if status != 200:
        raise EngineError(f"{what} failed: HTTP {status}: {text[:500]}")
    try:
        body = json.loads(text)
    except ValueError:
        raise EngineError(
            f"{what} failed: the answer to a non-streaming request was not JSON: "
            f"first bytes {first!r}"
        ) from None
    if not isinstance(body, dict):
        raise EngineError(f"{what} failed: the answer was JSON but not an object: {first!r}")
    return body


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


async def _get_json(base_url: str, path: str, api_key: str | None) -> object:
    """``path``'s JSON body; None where the engine has no such route or answers otherwise."""
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT, headers=_headers(api_key)) as session,
            session.get(base_url + path, allow_redirects=False) as response,
        ):
            if response.status != 200:
                return None
            return await response.json(content_type=None)
    except (aiohttp.ClientError, ValueError, TimeoutError):
        return None


async def engine_version(base_url: str, api_key: str | None) -> str | None:
    """vLLM and the simulated engine answer /version; llama-server's /props has build_info."""
    for path, key in (("/version", "version"), ("/props", "build_info")):
        body = await _get_json(base_url, path, api_key)
        if isinstance(body, dict) and body.get(key):
            return str(body[key])
    return None


async def engine_slots(base_url: str, api_key: str | None) -> EngineSlots | None:
    """llama-server's ``/props``: how many requests it serves at once (``total_slots``) and the
    context each may use (``default_generation_settings.n_ctx``, per slot); None for an engine
    without that route or an answer without both counts."""
    body = await _get_json(base_url, "/props", api_key)
    if not isinstance(body, dict):
        return None
    settings = body.get("default_generation_settings")
    return slots_of(
        body.get("total_slots"), settings.get("n_ctx") if isinstance(settings, dict) else None
    )


ENGINE_LABEL_HEADER = "X-Arena-Engine"
"""Arena's simulated engine labels every answer with it, also when reached as an external
endpoint, so that its numbers are labelled simulated wherever they are shown."""


async def sanity_generation(base_url: str, model: str, api_key: str | None) -> dict[str, Any]:
    """One short answer before measuring, stored with the results (the reference's _sanity.txt)."""
    payload = {
        "model": model,
        "messages": [{"role": "user", "content": SANITY_PROMPT}],
        "max_tokens": 32,
        "stream": False,
    }
    started = time.perf_counter()
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT, headers=_headers(api_key)) as session,
            session.post(
                base_url + "/v1/chat/completions", json=payload, allow_redirects=False
            ) as response,
        ):
            status, text = response.status, await response.text()
            label = response.headers.get(ENGINE_LABEL_HEADER)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise EngineError(f"sanity generation failed: {error}") from error
    streamed = streamed_answer(text) if status == 200 else None
    body = streamed or answer_json(status, text, "sanity generation")
    choices = body.get("choices")
    message = choices[0].get("message") if isinstance(choices, list) and choices else None
    if not isinstance(message, dict):
        raise EngineError(f"sanity generation failed: no choices[0].message in {text[:120]!r}")
    usage = body.get("usage")
    return {
        "prompt": SANITY_PROMPT,
        "answer": _text(message),
        "completion_tokens": usage.get("completion_tokens") if isinstance(usage, dict) else None,
        "latency_s": round(time.perf_counter() - started, 4),
        "engine_label": label,
        "streamed": streamed is not None,
    }


def streamed_answer(text: str) -> dict[str, Any] | None:
    """A server that streams though asked not to (some proxies and gateways always do): its
    SSE events folded into the one answer a non-streaming request gets, or None when the
    text is no event stream."""
    if not text.lstrip().startswith("data:"):
        return None
    content: list[str] = []
    usage: Any = None
    for line in text.splitlines():
        data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        if not data or data == "[DONE]":
            continue
        try:
            event = json.loads(data)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        usage = event.get("usage") or usage
        choices = event.get("choices")
        delta = choices[0].get("delta") if isinstance(choices, list) and choices else None
        if isinstance(delta, dict):
            content.append(_text(delta))
    return {"choices": [{"message": {"content": "".join(content)}}], "usage": usage}


def _text(part: dict[str, Any]) -> str:
    """A message's or delta's text: its content, else its reasoning (``reasoning_content``,
    or ``reasoning`` as newer vLLM names it), so a reasoning model's answer is not blank."""
    for key in ("content", "reasoning_content", "reasoning"):
        text = part.get(key)
        if isinstance(text, str) and text:
            return text
    return ""


def parse_prometheus(text: str) -> dict[str, float]:
    """Sum every sample of each metric name (labels folded), enough for totals and means."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        totals[match.group(1)] = totals.get(match.group(1), 0.0) + value
    return totals


async def scrape_metrics(base_url: str, api_key: str | None) -> dict[str, float] | None:
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT, headers=_headers(api_key)) as session,
            session.get(base_url + "/metrics", allow_redirects=False) as response,
        ):
            if response.status != 200:
                return None
            return parse_prometheus(await response.text())
    except (aiohttp.ClientError, TimeoutError):
        return None


def engine_figures(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What the engine itself measured between two scrapes: means from histograms, counter
    deltas, llama.cpp's per-token times from its second counters, and the prefix cache's
    queries, hits and hit percentage (prompt tokens served from the cache)."""
    figures: dict[str, float] = {}

    def delta(name: str) -> float | None:
        return after[name] - before.get(name, 0.0) if name in after else None

    for key, (name, scale) in ENGINE_HISTOGRAMS.items():
        total, count = delta(f"{name}_sum"), delta(f"{name}_count")
        if total is not None and count:
            figures[key] = total / count * scale
    for key, names in ENGINE_COUNTERS.items():
        for name in names:
            if (value := delta(name)) is not None:
                figures[key] = value
                break
    figures |= _prefix_cache_figures(figures, delta, after)
    if figures.get("generation_seconds") and figures.get("generation_tokens"):
        figures["ms_per_generated_token"] = (
            figures["generation_seconds"] / figures["generation_tokens"] * 1000
        )
    if figures.get("prompt_seconds") and figures.get("prompt_tokens"):
        figures["prompt_tokens_per_s"] = figures["prompt_tokens"] / figures["prompt_seconds"]
    accepted = figures.get("spec_decode_accepted_tokens")
    if accepted is not None and figures.get("spec_decode_draft_tokens"):
        figures["spec_decode_acceptance_rate"] = (
            accepted / figures["spec_decode_draft_tokens"] * 100
        )
    if accepted is not None and figures.get("spec_decode_num_drafts"):
        # as vLLM: the bonus token plus the accepted drafts, per drafting step
        figures["spec_decode_acceptance_length"] = 1 + accepted / figures["spec_decode_num_drafts"]
    return figures


ENGINE_TPOT_SOURCES = ("tpot_ms", "itl_ms", "ms_per_generated_token")
"""Where the engine's own time per output token comes from, first found wins: vLLM's TPOT
histogram, its inter-token latency histogram, llama.cpp's (and the simulated engine's)
generation seconds ÷ tokens."""


def engine_tpot_ms(figures: dict[str, float]) -> float | None:
    """The engine's own time per output token over the window of ``figures``, in ms."""
    return next((figures[key] for key in ENGINE_TPOT_SOURCES if figures.get(key)), None)


def _prefix_cache_figures(
    figures: dict[str, float], delta: Callable[[str], float | None], after: dict[str, float]
) -> dict[str, float]:
    """Queries (prompt tokens looked up) and hit percentage, from whichever counters the
    engine has: vLLM and the simulated engine count queries; llama.cpp counts cached and
    computed prompt tokens, which together are every prompt token; an older SGLang has only
    a rate."""
    found: dict[str, float] = {}
    queries = figures.get("prefix_cache_queries")
    cached, computed = delta(LLAMACPP_CACHED), delta(LLAMACPP_COMPUTED)
    if queries is None and cached is not None and computed is not None:
        queries = found["prefix_cache_queries"] = cached + computed
    hits = figures.get("prefix_cache_hits")
    if queries and hits is not None:
        found["prefix_cache_hit_pct"] = hits / queries * 100
    elif SGLANG_HIT_RATE in after:
        found["prefix_cache_hit_pct"] = after[SGLANG_HIT_RATE] * 100
    return found


RESET_PATHS = ("/reset_prefix_cache", "/flush_cache")
"""vLLM's route (mounted with ``VLLM_SERVER_DEV_MODE=1``; the simulated engine has it too),
then SGLang's."""


async def reset_prefix_cache(base_url: str, api_key: str | None) -> bool:
    """Empty the engine's prefix cache: True when the engine did it; False where it has no such
    route (llama-server), refuses (SGLang while requests run) or cannot be reached, and the
    caller must rely on fresh salts instead. Only a missing route (404, 405) tries the next."""
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT, headers=_headers(api_key)) as session:
            for path in RESET_PATHS:
                async with session.post(base_url + path, allow_redirects=False) as response:
                    if response.status not in (404, 405):
                        return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False
    return False
