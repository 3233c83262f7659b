"""A session benchmark against real llama-server, run as the owner's process recipe: the
prompt cache's hits, as llama-server reports them, equal what the trace implies, and later
turns start sooner with the cache on than with it off.

One slot (``--parallel 1``) and sessions replayed one after another make llama.cpp's
per-slot prompt cache behave like the implied model's unbounded one: each session's shared
system prompt is still in the slot from the session before, and each later turn re-sends the
turn before verbatim. With ``history: trace`` the re-sent answers are synthesised text, not
the tokens the engine produced, so (as the implied model says) they are never a hit.

Tolerance: the implied model counts the trace's tokens; llama-server counts its own, which
add the chat template's few tokens per message and re-tokenise the synthesised text (the
generator decodes it once and does not refit, docs/generator.md). Hit rates agree within
HIT_PCT_TOLERANCE percentage points, and each later turn's cached tokens within
TURN_TOLERANCE of its prompt tokens.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.client.api import ArenaClient, RunDetail
from arena.common.metrics.sessions import turn_ttft_s
from arena.common.schemas.sample import RequestSample
from arena.common.settings import DEV_USER_TOKEN
from arena.common.traces.format import Session, TraceHeader, Turn
from arena.common.traces.implied import implied_cache
from arena.common.traces.io import read_trace, write_trace
from tests.llama import MODEL_NAME, TOKENIZER_NAME
from tests.policy_files import LlamaBox, llama_box, write_policy
from tests.support import Processes

pytestmark = pytest.mark.slow

AGENT = "sessions-agent"
SESSIONS, TURNS, SYSTEM_BLOCKS, BLOCK_SIZE = 4, 5, 8, 64
HIT_PCT_TOLERANCE = 10.0
TURN_TOLERANCE = 0.15
TRACE_NAME = "traces/e2e-sessions.jsonl"


def write_small_trace(models_dir: Path) -> Path:
    """Four sessions of five turns over a shared 512-token system prompt, 3 s apart: each
    ends long before the next starts, even on a loaded machine."""
    path = models_dir / TRACE_NAME
    path.parent.mkdir(exist_ok=True)
    path.parent.chmod(0o755)
    sessions = [
        Session(
            id=f"s{index}",
            arrival_s=3.0 * index,
            system_blocks=list(range(SYSTEM_BLOCKS)),
            turns=[Turn(input_tokens=96, output_tokens=8) for _ in range(TURNS)],
        )
        for index in range(SESSIONS)
    ]
    write_trace(path, TraceHeader(block_size=BLOCK_SIZE, description="e2e"), sessions)
    path.chmod(0o644)
    return path


def one_slot_recipe(box: LlamaBox) -> dict[str, object]:
    recipe = box.recipe()
    command = list(recipe["command"])
    command[command.index("--parallel") + 1] = "1"
    return recipe | {"command": command}


@pytest.fixture(scope="module")
def box() -> Iterator[LlamaBox]:
    with llama_box() as found:
        yield found


@pytest.fixture
def arena(tmp_path: Path, box: LlamaBox) -> Iterator[Processes]:
    write_small_trace(box.models_dir)
    policy = write_policy(
        tmp_path,
        {
            "runtimes": ["process"],
            "models_dir": str(box.models_dir),
            "process": {"recipes": {"llama": one_slot_recipe(box)}},
        },
    )
    processes = Processes(tmp_path)
    try:
        processes.start_controller()
        processes.start_agent(AGENT, env={"ARENA_POLICY_FILE": str(policy)})
        yield processes
    finally:
        processes.stop_all()


def bench(bench_id: str, cache: str) -> str:
    return f"""
  - kind: sessions
    id: {bench_id}
    trace: {{path: {TRACE_NAME}}}
    replay_timestamps: true
    step_s: 30
    prefix_cache: {cache}
    history: trace
"""


SUITE = (
    f"""
name: llama-sessions
runs: 1
models:
  - name: {MODEL_NAME}
    engine: llama
    tokenizer: {TOKENIZER_NAME}
engines:
  llama:
    runtime: process
    recipe: llama
    args: {{ctx: 4096}}
    served_model_name: tiny
    startup_timeout_s: 60
benchmarks:
"""
    + bench("cache-on", "on")
    + bench("cache-off", "off")
)


def run_to_end(client: ArenaClient, suite: str, timeout_s: float = 240) -> RunDetail:
    run_id, _ = client.submit(suite, "sessions.yaml")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        detail = client.run(run_id)
        if detail.finished:
            return detail
        time.sleep(0.5)
    raise AssertionError(f"run did not finish: {client.run(run_id)}")


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def later_ttft_s(samples: list[RequestSample]) -> float:
    return mean([t for s in samples if s.turn and (t := turn_ttft_s(s)) is not None])


def test_llama_server_prompt_cache_hits_what_the_trace_implies(
    arena: Processes, box: LlamaBox
) -> None:
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        detail = run_to_end(client, SUITE)
        [job] = detail.jobs
        assert job.state == "succeeded", (job.message, arena.log(AGENT))
        samples = [sample for _, sample in client.samples(job_id=job.job_id)]
        results = client.results(detail.run.run_id)
    by_bench = {
        name: [s for s in samples if s.benchmark == name] for name in ("cache-on", "cache-off")
    }
    for name, measured in by_bench.items():
        assert len(measured) == SESSIONS * TURNS, name
        assert all(s.error is None and s.session and s.turn is not None for s in measured)
        assert {s.variant for s in measured} == {"replay"}

    implied = implied_cache(read_trace(box.models_dir / TRACE_NAME), "trace")
    expected = {(r.session, r.turn): r for r in implied.requests}
    on = by_bench["cache-on"]
    # every sample says what llama-server served from its cache
    assert all(s.cached_tokens is not None for s in on)
    measured_pct = (
        100 * sum(s.cached_tokens or 0 for s in on) / sum(s.prompt_tokens or 0 for s in on)
    )
    assert abs(measured_pct - implied.hit_pct) <= HIT_PCT_TOLERANCE, (measured_pct, implied.hit_pct)
    for sample in on:
        assert sample.session is not None and sample.turn is not None
        want = expected[sample.session, sample.turn]
        share = want.cached_tokens / want.prompt_tokens
        got = (sample.cached_tokens or 0) / (sample.prompt_tokens or 1)
        assert abs(got - share) <= TURN_TOLERANCE, (sample.session, sample.turn, got, share)

    # llama-server's own counters (its /metrics) agree with its usage fields
    [result] = results.jobs
    figures = {bench.id: bench.engine_metrics for bench in result.benchmarks}
    assert abs(figures["cache-on"]["prefix_cache_hit_pct"] - measured_pct) <= HIT_PCT_TOLERANCE
    # cache off: the generator asked llama-server not to reuse its cache, and it did not
    off = by_bench["cache-off"]
    assert sum(s.cached_tokens or 0 for s in off) <= 0.02 * sum(s.prompt_tokens or 0 for s in off)
    assert figures["cache-off"]["prefix_cache_hit_pct"] < 2.0
    # later turns re-send a long conversation: prefill of the new part only is faster
    assert later_ttft_s(on) < later_ttft_s(off)
