"""arenactl start-up cost: CPU (user+sys) and wall time of whole processes, vs ``python -c pass``.

Each command runs ``--runs`` times as a child process of this venv's Python; CPU is read from
``resource.getrusage(RUSAGE_CHILDREN)`` around each run, so other processes on a busy box do not
count, while wall time does. Prints the median of each. ``arenactl runs`` asks a controller
address where nothing listens (127.0.0.1:1): all of its start-up, one refused connection, the
error and the exit, as against a controller that is down.

``--before REV`` measures the arena sources of git revision REV side by side with the working
tree's, in the same venv (each tree's source roots first on ``PYTHONPATH``). ``--modules`` lists
which heavy third-party packages each command imports (``python -X importtime``), the ones a
light client should not load.

Usage: ``python -m bench.client_startup [--runs 7] [--before main] [--modules]``
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE_ROOTS = ("controller", "shared", "agent")
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
    "structlog",
)
ARENACTL = "import sys; from arena.client.cli import main; sys.argv[0] = 'arenactl'; main()"
COMMANDS: dict[str, list[str]] = {
    "arenactl --version": ["--version"],
    "arenactl --help": ["--help"],
    "arenactl runs --help": ["runs", "--help"],
    "arenactl runs (no controller)": ["--controller", "127.0.0.1:1", "runs"],
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median CPU and wall seconds of ``runs`` runs of ``argv`` (its exit status ignored: a
    command that cannot reach its controller fails, after the start-up measured here)."""
    cpus, walls = [], []
    for _ in range(runs):
        cpu, wall = _cpu(), time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return statistics.median(cpus), statistics.median(walls)


def environment(tree: Path) -> dict[str, str]:
    """The environment that makes ``arena`` the one under ``tree``."""
    roots = os.pathsep.join(str(tree / root) for root in SOURCE_ROOTS)
    return {**os.environ, "PYTHONPATH": roots}


def checkout(revision: str, into: Path) -> Path:
    """The source roots of ``revision``, extracted under ``into``."""
    archive = into / "sources.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "-C", str(REPO), "archive", revision, *SOURCE_ROOTS], stdout=out, check=True
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def heavy_imports(arguments: list[str], env: dict[str, str]) -> list[str]:
    """The packages of HEAVY that running arenactl with ``arguments`` under ``-X importtime``
    loads."""
    program = [sys.executable, "-X", "importtime", "-c", ARENACTL, *arguments]
    done = subprocess.run(program, capture_output=True, text=True, env=env)
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    return sorted(loaded.intersection(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", metavar="REV", help="also measure this git revision")
    parser.add_argument("--modules", action="store_true", help="list heavy imports per command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="client-startup-") as scratch:
        trees = {"now": environment(REPO)}
        if args.before:
            trees = {args.before: environment(checkout(args.before, Path(scratch))), **trees}
        reference = [sys.executable, "-c", "pass"]
        measure(reference, 1, trees["now"])  # warm the file cache
        reference_cpu, reference_wall = measure(reference, args.runs, trees["now"])
        print(f"python -c pass: {reference_cpu:.3f} s CPU, {reference_wall:.3f} s wall")
        header = "".join(f" {tree[:10]:>10} cpu s {tree[:10]:>10} wall s" for tree in trees)
        print(f"{'command':<30}{header}")
        for name, arguments in COMMANDS.items():
            argv = [sys.executable, "-c", ARENACTL, *arguments]
            cells = []
            for env in trees.values():
                measure(argv, 1, env)  # warm the file cache and the bytecode
                cpu, wall = measure(argv, args.runs, env)
                cells.append(f" {cpu:16.3f} {wall:17.3f}")
            print(f"{name:<30}{''.join(cells)}")
        if args.modules:
            for tree, env in trees.items():
                for name, arguments in COMMANDS.items():
                    print(f"{tree}: {name}: {', '.join(heavy_imports(arguments, env)) or '-'}")


if __name__ == "__main__":
    main()
