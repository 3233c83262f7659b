"""llama-benchy driver: the reference argv with the offline additions, the book cache, and
``--emit-progress`` events folded into samples."""

import json
from pathlib import Path

import pytest

from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.tools.base import ToolContext, ToolError, command_line
from arena.agent.tools.benchy_progress import BenchyProgress
from arena.agent.tools.llama_benchy import benchy_argv, book_cache, seed_book
from arena.common.schemas.suite import ClosedLoopBenchmark

CHAT = ClosedLoopBenchmark(
    id="01-chat", pp=[1024], tg=[1024], concurrency=[1, 5, 10], tool="llama-benchy"
)


def context(random_weights: bool = False, tokenizer: str | None = None) -> ToolContext:
    return ToolContext(
        endpoint=Endpoint("http://localhost:8000", "gemma-4-26b-a4b-bf16"),
        model_name="google/gemma-4-26B-A4B-it",
        runs=3,
        seed=42,
        tokenizer=tokenizer,
        random_weights=random_weights,
        clock=JobClock(),
        workdir=Path("/w"),
        output=lambda line: None,
        sample=lambda sample: None,
        position=lambda benchmark, variant, run: None,
    )


def test_the_reference_command_with_json_output_and_progress() -> None:
    argv = benchy_argv("llama-benchy", CHAT, context(), Path("/w/r.json"), Path("/w/p.jsonl"))
    # the published 01-chat command, with --format json --save-result instead of md
    assert command_line(argv) == (
        "llama-benchy --base-url http://localhost:8000/v1 --model gemma-4-26b-a4b-bf16 --runs 3 "
        "--latency-mode generation --pp 1024 --tg 1024 --depth 0 --concurrency 1 5 10 "
        "--format json --save-result /w/r.json --emit-progress /w/p.jsonl"
    )


def test_offline_additions_only_when_asked() -> None:
    argv = benchy_argv(
        "llama-benchy",
        CHAT.model_copy(update={"warmup": False}),
        context(random_weights=True, tokenizer="/m/tokenizer.json"),
        Path("r.json"),
        Path("p.jsonl"),
    )
    line = command_line(argv)
    assert "--tokenizer /m/tokenizer.json --skip-coherence --no-warmup" in line
    with pytest.raises(ToolError, match="multi-turn"):
        benchy_argv(
            "llama-benchy",
            CHAT.model_copy(update={"history_turns": 4}),
            context(),
            Path("r"),
            Path("p"),
        )


def test_exact_tg_passes_the_flag_and_only_then() -> None:
    exact = CHAT.model_copy(update={"exact_tg": True})
    argv = benchy_argv("llama-benchy", exact, context(), Path("r"), Path("p"))
    assert argv.count("--exact-tg") == 1
    assert "--exact-tg" not in benchy_argv("llama-benchy", CHAT, context(), Path("r"), Path("p"))


def test_book_cache_is_seeded_once_where_llama_benchy_looks(tmp_path: Path) -> None:
    path = book_cache(tmp_path)
    assert path.name == "cc6a0b5782734ee3b9069aa3b64cc62c.txt"
    assert seed_book(path) and len(path.read_text().split()) > 10_000
    path.write_text("a real book")
    assert not seed_book(path) and path.read_text() == "a real book"


def _events(origin: float) -> list[dict[str, object]]:
    def start(rid: int, run: int) -> dict[str, object]:
        return {
            "type": "request_start",
            "ts": origin + 1.0 + rid,
            "request_id": rid,
            "prompt_size": 64,
            "response_size": 4,
            "context_size": 0,
            "concurrency": 2,
            "run_index": run,
        }

    return [
        {"type": "header", "ts": origin},
        {"type": "latency_measured", "ts": origin + 0.5, "latency_s": 0.01, "mode": "generation"},
        start(1, 1),
        start(2, 1),
        {"type": "request_first_response", "ts": origin + 2.3, "request_id": 1, "ttfr_s": 1.2},
        {"type": "request_first_token", "ts": origin + 2.3, "request_id": 1, "ttft_s": 1.2},
        {"type": "tokens", "ts": origin + 2.3, "request_id": 1, "count": 1, "snippet": "a"},
        {"type": "tokens", "ts": origin + 2.5, "request_id": 1, "count": 1, "snippet": "b"},
        {
            "type": "request_end",
            "ts": origin + 2.6,
            "request_id": 1,
            "total_tokens": 4,
            "prompt_tokens": 66,
            "decode_seconds": 0.3,
            "error": "",
        },
        {
            "type": "request_end",
            "ts": origin + 3.0,
            "request_id": 2,
            "total_tokens": 0,
            "prompt_tokens": 0,
            "decode_seconds": 0,
            "error": "HTTP 500",
        },
        start(3, 2),
    ]


def test_progress_events_become_samples_of_the_measured_runs() -> None:
    origin = 1_000_000.0
    fold = BenchyProgress("01-chat", origin, warmup=True)
    samples = [s for e in _events(origin) if (s := fold.feed(json.dumps(e))) is not None]
    ok, failed = samples
    assert (ok.variant, ok.run, ok.index) == ("pp64/tg4/d0/c2", 0, 0)
    assert ok.sent_s == pytest.approx(1.1)  # taken back from the first response
    assert ok.first_token_s == pytest.approx(2.3) and ok.end_s == pytest.approx(2.6)
    assert ok.chunk_times_s == pytest.approx([2.3, 2.5])
    assert (ok.prompt_tokens, ok.completion_tokens, ok.max_tokens) == (66, 4, 4)
    assert ok.baseline_latency_s == 0.01 and ok.ok
    assert failed.error == "HTTP 500" and failed.index == 1 and not failed.ok
    assert fold.latest == ("pp64/tg4/d0/c2", 1)  # the next run has started
    assert fold.feed("not json") is None
