"""Rebuild this folder's database fixture with the arena code that is importable.

The committed files were made by commit b8a3adc's own code, so that tests can check that a
database written before samples and readings became SQLModel bases still opens and reads::

    git archive b8a3adc | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/controller:/tmp/old/agent:/tmp/old/shared \\
        .venv/bin/python tests/data/b8a3adc/make.py tests/data/b8a3adc

It runs one tiny job through a real controller on loopback (samples, GPU readings, success and
aggregation), then writes ``arena.sql`` (the database, as ``sqlite3`` dumps it) and
``expected.json`` (the run's detail and results as that code
served them).
"""

import asyncio
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.client.api import ArenaClient
from arena.common.schemas.job import JobState
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings

SUITE = """
name: old-db
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
targets:
  - name: any
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [16]
    tg: [8]
    concurrency: [2]
"""
VARIANT = "pp16/tg8/d0/c2"


def samples() -> list[RequestSample]:
    measured = [
        RequestSample(
            benchmark="chat",
            variant=VARIANT,
            run=0,
            index=i,
            sent_s=0.1 * i,
            first_response_s=0.1 * i + 0.04,
            first_token_s=0.1 * i + 0.05,
            end_s=0.1 * i + 0.3,
            chunk_times_s=[0.1 * i + 0.05 + 0.03 * k for k in range(8)],
            prompt_tokens=16,
            completion_tokens=8,
            max_tokens=8,
            baseline_latency_s=0.01,
        )
        for i in range(6)
    ]
    failed = RequestSample(
        benchmark="chat", variant=VARIANT, run=0, index=6, sent_s=0.7, end_s=0.8, error="boom"
    )
    return [*measured, failed]


def readings() -> list[GpuReading]:
    return [
        GpuReading(
            t_s=0.1 * i,
            gpu=0,
            power_w=200.0 + i,
            energy_mj=1000.0 + 50 * i,
            gpu_util_pct=90.0,
            throttle_mask=4,
            throttle_reasons=["sw_power_cap"],
        )
        for i in range(12)
    ]


async def run_one_job(data_dir: Path) -> dict[str, object]:
    async with Controller(ControllerSettings(listen="127.0.0.1:0", data_dir=data_dir)) as server:
        address = f"127.0.0.1:{server.port}"
        with ArenaClient(address, DEV_USER_TOKEN) as client:
            run_id, _ = await asyncio.to_thread(client.submit, SUITE, "old.yaml")
        link = ControllerLink(address, DEV_AGENT_TOKEN)
        await link.register("old-box", probe(), {}, {"arena": "old"})
        lease = await link.lease(wait_s=1)
        assert lease is not None
        await link.report(lease.job_id, 1, JobState.RUNNING, clock_origin_unix=1.0)
        sent = samples()
        await link.push_samples(lease.job_id, 1, 1, sent)
        await link.push_telemetry(lease.job_id, 1, 1, readings())
        await link.report(lease.job_id, 1, JobState.SUCCEEDED, total_samples=len(sent))
        await link.close()
        with ArenaClient(address, DEV_USER_TOKEN) as client:
            results = await asyncio.to_thread(client.results, run_id)
            detail = await asyncio.to_thread(client.run, run_id)
    return {"results": results.model_dump(mode="json"), "detail": detail.model_dump(mode="json")}


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        expected = asyncio.run(run_one_job(Path(data_dir)))
        with sqlite3.connect(Path(data_dir) / "arena.db") as database:
            dump = "".join(f"{line}\n" for line in database.iterdump())
    (out / "arena.sql").write_text(dump)
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
