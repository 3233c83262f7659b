"""Rows written through the store's own functions, for tests that need a populated database
without a controller: agents, a submitted run with its queued jobs, streamed samples."""

import time

from sqlmodel import Session

from arena.agent.hardware import probe
from arena.common.schemas.sample import RequestSample
from arena.common.suites.loader import load_suite_text
from arena.controller.store.agents import register_agent
from arena.controller.store.runs import submit_run


def suite(jobs: int) -> str:
    """A suite of ``jobs`` jobs (one per model) on the simulated engine, any target."""
    models = "".join(f"  - name: m{i}\n    engine: sim\n" for i in range(jobs))
    return (
        f"name: store-test\nmodels:\n{models}engines:\n  sim:\n    runtime: simulated\n"
        "targets:\n  - name: any\nruns: 1\nbenchmarks:\n  - kind: closed_loop\n    id: chat\n"
        "    pp: [16]\n    tg: [8]\n    concurrency: [1]\n"
    )


def submit(session: Session, jobs: int) -> tuple[str, list[str]]:
    text = suite(jobs)
    return submit_run(session, load_suite_text(text, "store.yaml"), text, "store.yaml", time.time())


def agents(session: Session, count: int) -> list[str]:
    hardware = probe()
    return [
        register_agent(session, f"box-{i}", hardware, {}, {}, time.time()).id for i in range(count)
    ]


def sample(index: int) -> RequestSample:
    return RequestSample(
        benchmark="chat",
        variant="pp16/tg8/d0/c1",
        run=0,
        index=index,
        sent_s=0.1 * index,
        first_token_s=0.1 * index + 0.05,
        end_s=0.1 * index + 0.3,
        chunk_times_s=[0.3],
        prompt_tokens=16,
        completion_tokens=8,
    )
