"""Notes on a benchmark's output tokens and reasoning, for ``validity.assess``: none of them
makes a benchmark invalid (its numbers use the tokenizer's count, and TTFC is reported beside
TTFT); each says what the numbers mean.

- **Reasoning first**: requests whose first token was reasoning; their TTFT (any channel, as
  MLPerf Endpoints and vLLM define it) is the first reasoning token, and ``vllm bench serve``
  on a server that keeps reasoning out of ``content`` reports the content time instead. TTFC
  has no value for a request whose reasoning used up ``max_tokens`` (no answer came): the note
  says TTFC leaves such requests out.
- **Usage mismatch**: the engine's ``usage.completion_tokens`` differs from the tokenizer's
  count of the streamed answer by more than ``MISMATCH_FLAG_PCT`` (worst variant).
- **Usage over max_tokens**: requests whose usage exceeded what they asked for (kept).

Counts over a benchmark are each variant's per-run mean × its runs (``MetricStat.n``).
"""

from arena.common.metrics.tokens import MISMATCH_FLAG_PCT
from arena.common.schemas.results import BenchmarkResult, VariantResult


def _total(variant: VariantResult, key: str) -> float:
    stat = variant.metrics.get(key)
    if stat is None or stat.mean is None:
        return 0.0
    return stat.mean * stat.n


def _requests(variant: VariantResult) -> float:
    """Successful requests: open loop and sessions count them; closed loop pools e2e_ttft."""
    if "completed" in variant.metrics:
        return _total(variant, "completed")
    stat = variant.metrics.get("e2e_ttft")
    return float(stat.n) if stat is not None else 0.0


def reasoning_first_flag(bench: BenchmarkResult) -> str | None:
    first = round(sum(_total(v, "reasoning_first") for v in bench.variants))
    if not first:
        return None
    requests = round(sum(_requests(v) for v in bench.variants))
    return (
        f"reasoning came first in {first} of {requests} requests: TTFT is the first reasoning "
        "token, TTFC the first answer token (TTFC leaves out a request whose reasoning used up "
        "max_tokens: it never reached an answer)"
    )


def token_mismatch_flag(bench: BenchmarkResult) -> str | None:
    worst = max(
        (
            (stat.mean, variant.key)
            for variant in bench.variants
            if (stat := variant.metrics.get("token_mismatch_pct")) is not None
            and stat.mean is not None
        ),
        default=None,
    )
    if worst is None or worst[0] <= MISMATCH_FLAG_PCT:
        return None
    return (
        f"usage disagrees with the tokenizer by {worst[0]:.1f} % ({worst[1]}): output tokens "
        "are the tokenizer's count of the streamed answer"
    )


def usage_over_max_flag(bench: BenchmarkResult) -> str | None:
    over = round(sum(_total(v, "usage_over_max") for v in bench.variants))
    if not over:
        return None
    return f"usage exceeded max_tokens in {over} requests (kept; see usage_over_max)"
