"""Time every dashboard page over the full data set: every DGX Spark fixture folder and
docs/results imported into a fresh controller (its own process, SQLite, dashboard on a free port).

For each page: the first load (cold: the views across runs read every run's results then), and
the median of LOADS later loads, both as the app's own time (its ``Server-Timing`` header) and
as the full HTTP time seen by this client. Target: under 300 ms per page.

    .venv/bin/python bench/dashboard.py [--loads 7]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SPARK = ROOT.parent / "shared" / "fixtures" / "dgx-spark-benchmarks"
TARGET_MS = 300.0


def load(url: str) -> tuple[float, float, int]:
    """(full HTTP ms, app ms from Server-Timing, body bytes)."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
        timing = response.headers.get("Server-Timing", "app;dur=nan")
    full = (time.perf_counter() - started) * 1000
    return full, float(timing.split("dur=")[1]), len(body)


def wait_for(url: str, controller: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if controller.poll() is not None:
            raise SystemExit(f"the controller exited with code {controller.returncode}")
        try:
            load(url)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no dashboard at {url}")


def pages(base: str) -> list[str]:
    runs = json.loads(urllib.request.urlopen(f"{base}/api/runs?limit=1000").read())
    spark = next(r["run_id"] for r in runs if "gemma" in r["suite"])
    measured = [r["run_id"] for r in runs if not r["suite"].startswith("import:")]
    own = next(
        (r["run_id"] for r in runs if "h200" in r["suite"]), measured[0] if measured else spark
    )
    return [
        "/healthz",
        "/agents",
        "/runs",
        "/api/runs",
        f"/runs/{spark}",
        f"/runs/{own}",
        f"/api/runs/{spark}",
        *[f"/leaderboard?preset={p}" for p in ("aggregate", "chat", "agent", "batch", "reasoning")],
        "/api/leaderboard",
        "/capacity",
        "/pareto",
        "/pareto?benchmark=06-concurrency-stress",
        "/compare",
        f"/compare?run={spark}&run={own}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=7)
    args = parser.parse_args()
    if not SPARK.is_dir():
        raise SystemExit(f"{SPARK} is missing: the bench imports the published Spark results")
    grpc, http = free_port(), free_port()
    base = f"http://127.0.0.1:{http}"
    with tempfile.TemporaryDirectory(prefix="arena-bench-dash-") as data:
        env = os.environ | {"ARENA_LOG_FORMAT": "json"}
        log = (Path(data) / "controller.log").open("wb")
        controller = subprocess.Popen(
            [
                BIN / "arena-controller",
                "--listen",
                f"127.0.0.1:{grpc}",
                "--data-dir",
                data,
                "--dashboard",
                f"127.0.0.1:{http}",
            ],
            env=env,
            stderr=log,
        )
        try:
            wait_for(f"{base}/healthz", controller)
            ctl: list[str | Path]
            ctl = [BIN / "arenactl", "--controller", f"127.0.0.1:{grpc}", "import"]
            started = time.monotonic()
            folders = sorted(p for p in (SPARK / "results").iterdir() if p.is_dir())
            for path in [*folders, ROOT / "docs" / "results"]:
                subprocess.run([*ctl, str(path)], check=True, env=env, stdout=subprocess.DEVNULL)
            runs = len(json.loads(urllib.request.urlopen(f"{base}/api/runs?limit=1000").read()))
            print(
                f"imported {runs} runs in {time.monotonic() - started:.0f} s; "
                f"{args.loads} loads per page, median (first load apart)\n"
            )
            print(f"{'page':<58} {'first ms':>9} {'app ms':>8} {'http ms':>8} {'KiB':>6}")
            worst = 0.0
            for page in pages(base):
                first = load(base + page)[0]
                times = [load(base + page) for _ in range(args.loads)]
                app = statistics.median(t[1] for t in times)
                full = statistics.median(t[0] for t in times)
                worst = max(worst, full)
                print(
                    f"{page[:58]:<58} {first:>9.0f} {app:>8.1f} {full:>8.1f} "
                    f"{times[0][2] / 1024:>6.0f}"
                )
            verdict = "within" if worst < TARGET_MS else "OVER"
            print(f"\nslowest page: {worst:.0f} ms median, {verdict} the {TARGET_MS:.0f} ms target")
        finally:
            controller.terminate()
            controller.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
