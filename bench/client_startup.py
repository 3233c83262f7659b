"""arenactl start-up cost: CPU (user+sys) and wall time of whole processes, vs ``python -c pass``.

Each command runs ``--runs`` times as a child process (the venv's own ``arenactl``); CPU is read
from ``resource.getrusage(RUSAGE_CHILDREN)`` around each run, so other processes on a busy box do
not count, while wall time does. Prints the median of each, and the ratio to the reference.
``--modules`` also lists which heavy third-party packages each command imports
(``python -X importtime``), the ones a light client should not load.

Usage: ``python -m bench.client_startup [--runs 7] [--modules]``
"""

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "fastapi",
    "plotly",
    "pyarrow",
    "numpy",
    "alembic",
    "uvicorn",
    "jinja2",
    "grpc",
    "cryptography",
    "rich",
    "pydantic",
)
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "arenactl --version": [str(BIN / "arenactl"), "--version"],
    "arenactl --help": [str(BIN / "arenactl"), "--help"],
    "arenactl runs --help": [str(BIN / "arenactl"), "runs", "--help"],
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    """Median CPU and wall seconds of ``runs`` runs of ``argv``."""
    cpus, walls = [], []
    for _ in range(runs):
        cpu, wall = _cpu(), time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return statistics.median(cpus), statistics.median(walls)


def heavy_imports(argv: list[str]) -> list[str]:
    """The packages of HEAVY that running ``argv`` under ``-X importtime`` loads."""
    program = ["-X", "importtime", "-c", "import sys; from arena.client.cli import main; main()"]
    done = subprocess.run([sys.executable, *program, *argv[1:]], capture_output=True, text=True)
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    return sorted(loaded.intersection(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--modules", action="store_true", help="list heavy imports per command")
    args = parser.parse_args()
    measure(COMMANDS["python -c pass"], 1)  # warm the file cache
    reference_cpu, reference_wall = measure(COMMANDS["python -c pass"], args.runs)
    print(f"{'command':<24} {'cpu s':>7} {'x ref':>6} {'wall s':>7} {'x ref':>6}")
    for name, argv in COMMANDS.items():
        cpu, wall = measure(argv, args.runs)
        print(
            f"{name:<24} {cpu:7.3f} {cpu / reference_cpu:6.1f} {wall:7.3f} "
            f"{wall / reference_wall:6.1f}"
        )
    if args.modules:
        for name, argv in COMMANDS.items():
            if name.startswith("arenactl"):
                print(f"{name}: {', '.join(heavy_imports(argv)) or '-'}")


if __name__ == "__main__":
    main()
