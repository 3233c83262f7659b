"""One closed-loop run (one batch of ``c`` simultaneous requests) with llama-benchy 0.4.0's maths.

Per request (``results.py``, ``_process_batch``):

- ttfr = first chunk with any choices − start; e2e_ttft = first generated-output chunk − start
  (reasoning included); Arena adds e2e_ttfc = first answer-content chunk − start;
- est_ppt = max(0, ttfr − baseline latency), counted only for requests that produced a token;
- pp t/s (req) = prompt tokens / est_ppt when est_ppt > 0, where prompt tokens are the server's
  ``usage.prompt_tokens`` if within 20 % of the expected count, else the expected count;
- tg t/s (req) = tokens after the first token's timestamp / (last − first token timestamp);
- peak t/s (req) = most token timestamps in a sliding 1 s window (``peak_tokens_per_s``).

Per batch: pp t/s (total) = Σ prompt tokens / (latest first token − earliest start); tg t/s
(total) = Σ tokens after each request's first / (latest last token − earliest first token);
peak t/s (total) = the sliding-window peak over every token of the batch. With c = 1 llama-benchy
reports the per-request speeds as "t/s" instead of the batch formulas.

Arena adds ``output_throughput``, the open loop's measure: output tokens of the batch's
succeeded requests ÷ its wall time (earliest start → latest completion), prefill included, at
every concurrency. tg t/s charges decode time only; what a GPU-hour buys is this one
(``analysis.cost``).

Token timestamps: llama-benchy uses per-chunk ``token_ids`` when the server returns them, else
spreads ``usage.completion_tokens`` evenly between the first and last content chunk, else counts
one token per chunk. Arena does not request token ids, so it uses the chunk times themselves when
the output-token count (``metrics.tokens.output_tokens``: the tokenizer's, else usage) agrees
with the chunk count (what the token-id path gives for one token per chunk) and llama-benchy's
even spread of that count otherwise.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from arena.common import stats
from arena.common.metrics.client_verdict import REPORTED_KEYS
from arena.common.metrics.tokens import TOKEN_CHECKS, output_tokens
from arena.common.schemas.sample import RequestSample

Metrics = dict[str, float | None]

PROMPT_TOKENS_TOLERANCE = 0.2
PEAK_WINDOW_S = 1.0

REQUEST_METRICS = (
    "pp_req_throughput",
    "tg_req_throughput",
    "peak_req_throughput",
    "ttfr",
    "est_ppt",
    "e2e_ttft",
    "e2e_ttfc",
)
"""Per-request values: llama-benchy pools them over every request of every run (``e2e_ttfc``
is Arena's)."""

BATCH_METRICS = ("pp_throughput", "tg_throughput", "peak_throughput", "output_throughput")
"""One value per batch (run) when c > 1; with c = 1 see ``SINGLE_REQUEST_TOTALS``
(``output_throughput``, Arena's, is the batch's at every concurrency)."""

SINGLE_REQUEST_TOTALS = {"pp_throughput": "pp_req_throughput", "tg_throughput": "tg_req_throughput"}
"""The c = 1 rule: with one request per batch llama-benchy reports the per-request speeds as
the "total" pp and tg t/s instead of the batch formulas (``BenchmarkReport.add``)."""

V = TypeVar("V")


def with_single_request_totals(
    values: Mapping[str, V], concurrency: int, missing: V
) -> dict[str, V]:
    """A copy of ``values``, with the c = 1 rule applied when ``concurrency`` is 1."""
    out = dict(values)
    if concurrency == 1:
        out |= {total: values.get(key, missing) for total, key in SINGLE_REQUEST_TOTALS.items()}
    return out


BENCHY_METRICS = (
    "pp_throughput",
    "pp_req_throughput",
    "tg_throughput",
    "tg_req_throughput",
    "peak_throughput",
    "peak_req_throughput",
    "ttfr",
    "est_ppt",
    "e2e_ttft",
)
"""Every closed-loop key, in the order of llama-benchy's JSON report (same names)."""
ARENA_REPORT_METRICS = (
    "cache_hit_pct",
    "e2e_ttfc",
    "output_throughput",
    *TOKEN_CHECKS,
    *REPORTED_KEYS,
)
"""Keys Arena adds to a llama-benchy report it writes (``arenactl export``), so that an import
keeps them: ``e2e_ttfc`` pooled per request like ``e2e_ttft``, the cache hit rate and token
checks one value per run, the client's figures as served;
llama-benchy's own reports have none."""


def token_timestamps(sample: RequestSample) -> list[float]:
    """Best estimate of when each generated token arrived (see the module docstring)."""
    chunks = sample.chunk_times_s
    count = output_tokens(sample)
    if not chunks or count == len(chunks):
        return list(chunks)
    if count <= 0:
        return []
    first, last = chunks[0], chunks[-1]
    if count == 1 or len(chunks) == 1 or last <= first:
        return [first] * count
    step = (last - first) / (count - 1)
    return [first + step * i for i in range(count)]


def tokens_after_first(timestamps: Sequence[float]) -> int:
    """Decode tokens: those strictly later than the first token (llama-benchy 0.4.0)."""
    if len(timestamps) < 2:
        return 0
    return sum(1 for t in timestamps if t > timestamps[0])


def peak_tokens_per_s(timestamps: Sequence[float], window_s: float = PEAK_WINDOW_S) -> float:
    """Most tokens inside any window of ``window_s`` ending on a token, per second.

    A burst shorter than the window is rated over its own span instead (llama-benchy's rule,
    so a short burst's peak is not below its mean).
    """
    if not timestamps:
        return 0.0
    ordered = sorted(timestamps)
    span = ordered[-1] - ordered[0]
    if 0 < span < window_s:
        return len(ordered) / span
    most = 0
    start = 0
    for end, end_time in enumerate(ordered):
        while start < end and ordered[start] <= end_time - window_s:
            start += 1
        most = max(most, end - start + 1)
    return most / window_s


def prompt_tokens(sample: RequestSample, expected: int | None) -> int | None:
    """The server's count when plausible (within 20 % of ``expected``), else ``expected``."""
    reported = sample.prompt_tokens
    if reported is None or reported <= 0:
        return expected
    if expected is None or abs(reported - expected) < expected * PROMPT_TOKENS_TOLERANCE:
        return reported
    return expected


@dataclass(frozen=True)
class _Request:
    sample: RequestSample
    tokens: list[float]
    prompt_tokens: int | None


def _valid(samples: Sequence[RequestSample], expected: int | None) -> list[_Request]:
    return [_Request(s, token_timestamps(s), prompt_tokens(s, expected)) for s in samples if s.ok]


def request_values(
    samples: Sequence[RequestSample], expected_prompt_tokens: int | None = None
) -> dict[str, list[float]]:
    """Every per-request value of one batch, times in ms, keyed as ``REQUEST_METRICS``."""
    values: dict[str, list[float]] = {key: [] for key in REQUEST_METRICS}
    for request in _valid(samples, expected_prompt_tokens):
        sample = request.sample
        latency = sample.baseline_latency_s or 0.0
        ttfr = 0.0
        if sample.first_response_s is not None:
            ttfr = sample.first_response_s - sample.sent_s
            values["ttfr"].append(ttfr * 1000.0)
        est_ppt = 0.0
        if sample.first_token_s is not None:
            est_ppt = max(0.0, ttfr - latency)
            values["e2e_ttft"].append((sample.first_token_s - sample.sent_s) * 1000.0)
            values["est_ppt"].append(est_ppt * 1000.0)
        if sample.first_content_s is not None:
            values["e2e_ttfc"].append((sample.first_content_s - sample.sent_s) * 1000.0)
        if est_ppt > 0 and request.prompt_tokens is not None:
            values["pp_req_throughput"].append(request.prompt_tokens / est_ppt)
        decode_tokens = tokens_after_first(request.tokens)
        if decode_tokens > 0:
            decode_time = request.tokens[-1] - request.tokens[0]
            if decode_time > 0:
                values["tg_req_throughput"].append(decode_tokens / decode_time)
        if request.tokens:
            values["peak_req_throughput"].append(peak_tokens_per_s(request.tokens))
    return values


def wall_output_throughput(samples: Sequence[RequestSample]) -> float | None:
    """Output tokens of the succeeded requests (a first token, no error) ÷ the batch's wall
    time, earliest send → latest completion; None without either."""
    done = [s for s in samples if s.ok and s.first_token_s is not None]
    ends = [s.end_s for s in samples if s.end_s is not None]
    if not done or not ends:
        return None
    wall_s = max(ends) - min(s.sent_s for s in samples)
    tokens = sum(output_tokens(s) for s in done)
    return tokens / wall_s if wall_s > 0 and tokens > 0 else None


def batch_values(
    samples: Sequence[RequestSample], expected_prompt_tokens: int | None = None
) -> Metrics:
    """The batch-wide throughputs of one run (llama-benchy's "total" columns)."""
    requests = _valid(samples, expected_prompt_tokens)
    out: Metrics = dict.fromkeys(BATCH_METRICS, None)
    first_tokens = [r.sample.first_token_s for r in requests if r.sample.first_token_s is not None]
    if requests and first_tokens:
        earliest_start = min(r.sample.sent_s for r in requests)
        prefill_s = max(first_tokens) - earliest_start
        batch_prompt = sum(r.prompt_tokens or 0 for r in requests)
        if prefill_s > 0:
            out["pp_throughput"] = batch_prompt / prefill_s
        last_tokens = [
            r.tokens[-1] if r.tokens else r.sample.end_s
            for r in requests
            if r.tokens or r.sample.end_s is not None
        ]
        decode_s = max(t for t in last_tokens if t is not None) - min(first_tokens)
        decode_tokens = sum(tokens_after_first(r.tokens) for r in requests)
        if decode_s > 0 and decode_tokens > 0:
            out["tg_throughput"] = decode_tokens / decode_s
    every_token = [t for r in requests for t in r.tokens]
    if every_token:
        out["peak_throughput"] = peak_tokens_per_s(every_token)
    out["output_throughput"] = wall_output_throughput(samples)
    return out


def closed_loop_metrics(
    samples: Sequence[RequestSample],
    *,
    concurrency: int | None = None,
    expected_prompt_tokens: int | None = None,
) -> Metrics:
    """One run's numbers: batch throughputs plus this run's mean of each per-request value.

    ``concurrency`` defaults to the number of samples; with 1, the "total" throughputs are the
    per-request speeds, as llama-benchy prints them. Times (ttfr, est_ppt, e2e_ttft) are in ms.
    """
    per_request = request_values(samples, expected_prompt_tokens)
    metrics: Metrics = {
        key: stats.mean(values) if values else None for key, values in per_request.items()
    }
    if (concurrency if concurrency is not None else len(samples)) == 1:
        metrics = with_single_request_totals(metrics, 1, None)
        every_token = [t for s in samples if s.ok for t in token_timestamps(s)]
        metrics["peak_throughput"] = peak_tokens_per_s(every_token) if every_token else None
        metrics["output_throughput"] = wall_output_throughput(samples)
    else:
        metrics |= batch_values(samples, expected_prompt_tokens)
    return metrics
