"""What ``show`` says beside the numbers when they are not plain measurements: invalid
benchmarks, metrics that mean nothing on this server, run-to-run spread, and the
speculative-decoding counters that have no column of their own."""

from rich.markup import escape

from arena.common.schemas.results import BenchmarkResult, MetricStat
from arena.common.views.results import NOT_MEANINGFUL

_SPEC_DECODE = (
    ("spec_decode_acceptance_rate", "acceptance {:.1f} %"),
    ("spec_decode_acceptance_length", "{:.2f} tokens per step"),
    ("spec_decode_num_drafts", "{:,.0f} drafts"),
    ("spec_decode_draft_tokens", "{:,.0f} drafted"),
    ("spec_decode_accepted_tokens", "{:,.0f} accepted"),
)


def title_mark(bench: BenchmarkResult) -> str:
    if bench.valid:
        return ""
    failed = bench.flags and bench.flags[0].startswith("failed")
    return " [bold red]FAILED[/]" if failed else " [bold red]INVALID[/]"


def flag_lines(bench: BenchmarkResult) -> list[str]:
    lines = [
        f"[red]{escape(line)}[/]" if line.startswith(("invalid", "failed")) else escape(line)
        for line in bench.flags
    ]
    if any(variant.not_meaningful for variant in bench.variants):
        lines.append(f"{NOT_MEANINGFUL}: not meaningful on this server (see above)")
    return lines


def spec_decode_caption(metrics: dict[str, MetricStat] | dict[str, float]) -> str:
    """The speculative-decoding counters, from a vLLM result or the engine's own metrics."""
    parts = []
    for key, text in _SPEC_DECODE:
        value = metrics.get(key)
        number = value.mean if isinstance(value, MetricStat) else value
        if number is not None:
            parts.append(text.format(number))
    return "speculative decoding: " + " · ".join(parts) if parts else ""


def spec_decode_lines(bench: BenchmarkResult) -> list[str]:
    lines = []
    for variant in bench.variants:
        if caption := spec_decode_caption(variant.metrics):
            lines.append(f"{variant.key} {caption}")
    if caption := spec_decode_caption(bench.engine_metrics):
        lines.append(f"engine's {caption}")
    return lines
