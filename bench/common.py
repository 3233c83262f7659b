"""What the bench scripts share: the instant server, controllers as processes, the reference
tools, CPU accounting."""

import math
import os
import resource
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VLLM_VENV = Path(os.environ.get("ARENA_VLLM_VENV", "/root/.cache/arena/venvs/vllm"))
BENCHY_VENV = Path(os.environ.get("ARENA_BENCHY_VENV", "/root/.cache/arena/venvs/llama-benchy"))
TOKENIZER_DIR = Path(os.environ.get("ARENA_TOKENIZER_DIR", "/root/.cache/arena/parity-model"))


CONTROLLER = str(Path(sys.executable).parent / "arena-controller")
BENCH_CONTROLLER_ENV = {
    "ARENA_LEASE_TTL_S": "600",
    "ARENA_LOG_LEVEL": "warning",
    # an agent that sends one pre-built batch again and again carries times past the job's clock
    "ARENA_SAMPLE_CLOCK_TOLERANCE_S": "86400",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("controller exited at start")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("controller did not start")


@contextmanager
def controllers(
    database_url: str | None, ports: Sequence[int], env: dict[str, str] | None = None
) -> Iterator[list["subprocess.Popen[bytes]"]]:
    """``arena-controller`` processes on these loopback ports, all on one database (a SQLite
    file in a temporary directory by default), without dashboards; stopped on the way out."""
    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp:
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for port in ports:
                command = [
                    CONTROLLER,
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--data-dir",
                    tmp,
                    "--dashboard",
                    "off",
                ]
                if database_url:
                    command += ["--database-url", database_url]
                settings = os.environ | BENCH_CONTROLLER_ENV | (env or {})
                processes.append(subprocess.Popen(command, cwd=REPO, env=settings))
            for port, process in zip(ports, processes, strict=True):
                wait_listening(port, process)
            yield processes
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(30)


def side_by_side(
    title: str, keys: Sequence[str], setups: Mapping[str, Callable[[], dict[str, float]]]
) -> None:
    """Measure each setup in turn and print one column each; a setup that fails (RuntimeError)
    says why on stderr and shows NaN, so the others' figures still come out."""
    columns: dict[str, dict[str, float]] = {}
    for name, measure in setups.items():
        try:
            columns[name] = measure()
        except RuntimeError as error:
            print(f"{name}: {error}", file=sys.stderr)
            columns[name] = dict.fromkeys(keys, math.nan)
    print(title)
    print(f"{'':32}" + "".join(f"{name:>14}" for name in columns))
    for key in keys:
        print(f"{key:32}" + "".join(f"{column[key]:14.3f}" for column in columns.values()))


def tool(venv: Path, name: str) -> Path | None:
    """The tool's executable, or None after saying how to install it."""
    path = venv / "bin" / name
    if path.exists():
        return path
    print(
        f"[skip] {name} not found at {path}: create the venv and `pip install` it there "
        f"(or set the env var pointing to another venv)",
        file=sys.stderr,
    )
    return None


@contextmanager
def instant_server(
    chunks: int = 16,
    model: str = "tiny",
    pace_ms: tuple[float, float] | None = None,
    arrivals: Path | None = None,
    close: bool = False,
    quirks: Sequence[str] = (),
) -> Iterator[str]:
    """Start ``bench.instant_server`` in its own process; yield its base URL.

    ``pace_ms`` = (TTFT, ITL) switches it to paced streaming (the parity control);
    ``arrivals`` is the file where it logs when each streaming request arrived; ``close``
    makes it close each connection after its answer; ``quirks``: more of its options
    (``--reasoning-chunks 20``, ``--usage-completion-tokens 54``).
    """
    command = [sys.executable, "-m", "bench.instant_server", "--chunks", str(chunks)]
    if pace_ms is not None:
        command += ["--ttft-ms", str(pace_ms[0]), "--itl-ms", str(pace_ms[1])]
    if arrivals is not None:
        command += ["--arrivals", str(arrivals)]
    if close:
        command.append("--close")
    command += quirks
    process = subprocess.Popen(
        [*command, "--model", model], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


@dataclass(frozen=True)
class Measured:
    returncode: int
    wall_s: float
    cpu_s: float
    """User + system CPU of the command and its waited-for children."""
    output: str


def run_measured(command: Sequence[str | Path], env: dict[str, str] | None = None) -> Measured:
    """Run a command to completion, measuring its wall time and CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(part) for part in command],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(done.returncode, wall, cpu, done.stdout + done.stderr)


BENCHY_BOOK = Path.home() / ".cache/llama-benchy/cc6a0b5782734ee3b9069aa3b64cc62c.txt"
"""Where llama-benchy 0.4.0 caches its default book (md5 of the Gutenberg URL); offline, the
book is replaced by the machine's licence texts (``/usr/share/common-licenses``, every
package's ``copyright`` file): plain English prose of a few MB, no download. A slim image
without them gets the standard library's sources instead."""
BOOK_MIN_CHARS = 1_000_000


def seed_benchy_corpus() -> None:
    if BENCHY_BOOK.exists():
        return
    sources = sorted(Path("/usr/share/common-licenses").glob("*"))
    sources += sorted(Path("/usr/share/doc").glob("*/copyright"))
    texts = [p.read_text(errors="replace") for p in sources if p.is_file()]
    if sum(map(len, texts)) < BOOK_MIN_CHARS:
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        texts += [p.read_text(errors="replace") for p in sorted(stdlib.glob("*.py"))]
    BENCHY_BOOK.parent.mkdir(parents=True, exist_ok=True)
    BENCHY_BOOK.write_text("\n\n".join(texts))
