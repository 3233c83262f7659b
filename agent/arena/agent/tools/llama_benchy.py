"""llama-benchy, pinned, run with the reference command on one closed-loop benchmark.

The command is the reference's (``--runs --latency-mode --pp --tg --depth --concurrency``) with
``--format json --save-result`` for a machine-readable report, plus what running offline needs:
a local ``--tokenizer``, the book corpus pre-seeded in llama-benchy's cache, and
``--skip-coherence`` only for random-weight models. ``--emit-progress`` events become samples
while the tool runs; the report's metrics are the benchmark's numbers.
"""

import asyncio
import hashlib
from pathlib import Path

from arena.agent.generator.corpus import corpus_text
from arena.agent.tools.base import ToolContext, ToolError, ToolOutcome, command_line, run_tool
from arena.agent.tools.benchy_progress import BenchyProgress
from arena.agent.tools.venvs import LLAMA_BENCHY, ensure_installed
from arena.common.parsers import ParseError
from arena.common.parsers.llama_benchy_json import parse_report, variants
from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark

BOOK_URL = "https://www.gutenberg.org/files/1661/1661-0.txt"
POLL_S = 0.25


def book_cache(home: Path | None = None, url: str = BOOK_URL) -> Path:
    """Where llama-benchy looks for its book before downloading it."""
    root = home if home is not None else Path.home()
    return root / ".cache" / "llama-benchy" / f"{hashlib.md5(url.encode()).hexdigest()}.txt"


def seed_book(path: Path) -> bool:
    """Offline, the book is Arena's built-in corpus; an existing file is left alone."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(corpus_text(), encoding="utf-8")
    return True


def benchy_argv(
    executable: str,
    bench: ClosedLoopBenchmark,
    ctx: ToolContext,
    result_file: Path,
    progress_file: Path,
) -> list[str]:
    if bench.history_turns:
        raise ToolError(f"{bench.id}: llama-benchy has no multi-turn history (history_turns)")

    def numbers(values: list[int]) -> list[str]:
        return [str(value) for value in values]

    argv = [
        executable,
        "--base-url",
        f"{ctx.endpoint.base_url.rstrip('/')}/v1",
        "--model",
        ctx.endpoint.model,
        "--runs",
        str(ctx.runs),
        "--latency-mode",
        bench.latency_mode,
        "--pp",
        *numbers(bench.pp),
        "--tg",
        *numbers(bench.tg),
        "--depth",
        *numbers(bench.depth),
        "--concurrency",
        *numbers(bench.concurrency),
        "--format",
        "json",
        "--save-result",
        str(result_file),
    ]
    if ctx.tokenizer:
        argv += ["--tokenizer", ctx.tokenizer]
    if ctx.random_weights:
        argv.append("--skip-coherence")
    if not bench.warmup:
        argv.append("--no-warmup")
    if bench.exact_tg:
        argv.append("--exact-tg")
    if ctx.endpoint.api_key:
        argv += ["--api-key", ctx.endpoint.api_key]
    return [*argv, "--emit-progress", str(progress_file)]


class LlamaBenchyDriver:
    name = "llama-benchy"

    async def run(self, bench: Benchmark, ctx: ToolContext) -> ToolOutcome:
        if not isinstance(bench, ClosedLoopBenchmark):
            raise ToolError(f"{bench.id}: llama-benchy runs closed-loop benchmarks only")
        executable = await ensure_installed(LLAMA_BENCHY, ctx.output)
        if seed_book(book_cache()):
            ctx.output(f"seeded llama-benchy's book cache at {book_cache()} (built-in corpus)")
        result_file = ctx.workdir / f"{bench.id}.json"
        progress_file = ctx.workdir / f"{bench.id}.progress.jsonl"
        result_file.unlink(missing_ok=True)
        progress_file.write_text("")
        argv = benchy_argv(str(executable), bench, ctx, result_file, progress_file)
        command = command_line(argv, ctx.endpoint.api_key)
        ctx.output(f"$ {command}")
        follower = _Follower(
            progress_file, BenchyProgress(bench.id, ctx.clock.wall_origin, bench.warmup), ctx
        )
        following = asyncio.create_task(follower.follow())
        try:
            code = await run_tool(argv, ctx.output, cwd=ctx.workdir)
        finally:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
        follower.drain()
        if code != 0 or not result_file.exists():
            raise ToolError(f"llama-benchy exited with code {code} on {bench.id}")
        text = result_file.read_text(encoding="utf-8")
        try:
            report = parse_report(text)
        except ParseError as error:
            raise ToolError(f"llama-benchy report of {bench.id}: {error}") from error
        metrics = {
            variant.key: {key: stat.model_dump() for key, stat in variant.metrics.items()}
            for variant in variants(report, ctx.runs)
        }
        return ToolOutcome(self.name, [command], [text], metrics)


class _Follower:
    """Reads the progress file as it grows, feeding complete lines to the fold."""

    def __init__(self, path: Path, progress: BenchyProgress, ctx: ToolContext) -> None:
        self.path, self.progress, self.ctx = path, progress, ctx
        self.offset = 0

    async def follow(self) -> None:
        while True:
            self.drain()
            await asyncio.sleep(POLL_S)

    def drain(self) -> None:
        with self.path.open("rb") as stream:
            stream.seek(self.offset)
            data = stream.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            sample = self.progress.feed(line)
            if sample is not None:
                self.ctx.sample(sample)
        if (where := self.progress.latest) is not None:
            self.ctx.position(self.progress.benchmark, *where)
