"""How long ``arenactl report`` takes on the full imported data set, end to end and by part.

A fresh controller (its own process, SQLite in a temporary folder) gets every DGX Spark
fixture folder and ``docs/results`` through ``arenactl import``. Then, ``--repeats`` times:
``arenactl report`` as a separate process (wall time: start-up and imports included), and the
three parts in this process on the same data: fetch (results, samples and telemetry over
gRPC), figures (``build``: every figure and table) and write (figure JSON, template, file),
each in wall and CPU seconds.
Medians are printed, with the CPU seconds the ``arenactl report`` process and the controller
spent (what a busy machine cannot inflate); the target is under 5 s end to end on the 2-core
development machine.

Usage: ``python -m bench.report [--repeats 3] [--spark PATH]``
"""

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from arena.client.api import ArenaClient
from arena.client.commands.analysis import load_models
from arena.client.report.build import build
from arena.client.report.fetch import Selection, fetch
from arena.client.report.write import write
from arena.common.settings import DEV_USER_TOKEN
from bench.common import REPO
from tests.support import Processes

SPARK = REPO.parent / "shared" / "fixtures" / "dgx-spark-benchmarks"
ARENACTL = Path(sys.executable).parent / "arenactl"


def _arenactl(address: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(ARENACTL), "--controller", address, *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spark", type=Path, default=SPARK)
    args = parser.parse_args()
    models_file = REPO / "examples" / "models.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        processes = Processes(work)
        processes.start_controller()
        try:
            for source in (args.spark, REPO / "docs" / "results"):
                seconds = _arenactl(processes.address, "import", str(source))
                print(f"imported {source} in {seconds:.1f} s")
            names = [
                "end to end",
                "client CPU",
                "controller CPU",
                "fetch",
                "figures",
                "write",
                "fetch CPU",
                "figures CPU",
                "write CPU",
            ]
            parts: dict[str, list[float]] = {name: [] for name in names}
            controller = psutil.Process(processes.running["controller"].pid)
            for _ in range(args.repeats):
                out = work / "report.html"
                command = ["report", "--models", str(models_file), "-o", str(out)]
                cpu, served = _children_cpu_s(), _cpu_s(controller)
                parts["end to end"].append(_arenactl(processes.address, *command))
                parts["client CPU"].append(_children_cpu_s() - cpu)
                parts["controller CPU"].append(_cpu_s(controller) - served)
                with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
                    clock = [(time.perf_counter(), time.process_time())]
                    data = fetch(client, Selection())
                    clock.append((time.perf_counter(), time.process_time()))
                    report = build(data, load_models(models_file))
                    clock.append((time.perf_counter(), time.process_time()))
                    size = write(report, work / "parts.html", ["bench"])
                    clock.append((time.perf_counter(), time.process_time()))
                for part, before, after in zip(names[3:6], clock, clock[1:], strict=True):
                    parts[part].append(after[0] - before[0])
                    parts[f"{part} CPU"].append(after[1] - before[1])
            jobs = sum(len(run.jobs) for run in data.results)
            samples = sum(len(found) for found in data.samples.values())
            readings = sum(len(found) for found in data.telemetry.values())
            figures = len(report.throughput) + len(report.latency) + len(report.telemetry) + 2
            print(
                f"data: {len(data.results)} runs, {jobs} jobs, {samples} samples, "
                f"{readings} NVML readings; {figures} figures, {size / 1e6:.1f} MB"
            )
            for name, runs_s in parts.items():
                print(
                    f"{name:>14}: median {statistics.median(runs_s):.2f} s "
                    f"(runs: {', '.join(f'{s:.2f}' for s in runs_s)})"
                )
        finally:
            processes.stop_all()


if __name__ == "__main__":
    main()
