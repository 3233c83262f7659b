"""Build llama.cpp's llama-server for the CPU or CUDA, or pack its source to carry elsewhere.

The source is the llama.cpp tree vendored in PyPI's llama-cpp-python sdist (no other source is
reachable here), trimmed to what llama-server needs (~8 MB packed): small enough to carry to a
GPU box with no internet, where ``--source`` builds from it. A build is cached per variant under
~/.cache/arena (``llama-server-VERSION``, ``llama-server-cudaARCH-VERSION``), so later calls
return at once; ``build.json`` beside ``bin/`` records what was built and how. The last line
printed is the binary's (or the packed tarball's) path; cmake's output goes to stderr.

Python rather than bash: argument checks, the tree's trimming rules and the JSON record are
plain code here, and the tests exercise them through ``scripts/build_llama_server.sh``.
"""

import argparse
import gzip
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

VERSION = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
CACHE = Path(os.environ.get("ARENA_CACHE", Path.home() / ".cache" / "arena"))
WORK = CACHE / f"build-llama-{VERSION}"
SDIST = WORK / f"llama_cpp_python-{VERSION}.tar.gz"
PACKED_ROOT = "llama.cpp"  # the one folder a packed tarball holds
# Top-level folders llama-server's build never reads, and the ggml backends kept.
DROPPED = frozenset(
    {"docs", "models", "tests", "examples", "benches", "media", "pocs", "skills", ".github", "ci"}
)
BACKENDS_KEPT = frozenset({"ggml-cpu", "ggml-cuda"})
FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_CURL=OFF",
    "-DGGML_NATIVE=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
)
# OpenSSL off as on the lent GPU (its image has no libssl headers; the server serves plain HTTP).
CUDA_FLAGS = ("-DGGML_CUDA=ON", "-DLLAMA_OPENSSL=OFF")
ARCHITECTURE = re.compile(r"[1-9][0-9]{1,2}[af]?(-real|-virtual)?")
# The PATH the agent gives a process engine (arena.agent.engines.sandbox.SAFE_PATH), and nothing
# else: the built binary must start with only that, as the agent will start it.
ENGINE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class BuildError(Exception):
    """A reason to stop, printed as one line."""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="build_llama_server.sh",
        description="Build llama-server (CPU by default, or CUDA) from llama-cpp-python "
        f"{VERSION}'s llama.cpp tree, cached under {CACHE}; or pack that tree for a box "
        "with no internet. Prints the binary's path last.",
    )
    parser.add_argument("--cuda", action="store_true", help="build with CUDA (needs nvcc)")
    parser.add_argument(
        "--cuda-arch",
        metavar="LIST",
        help='CUDA architectures, e.g. "90" (H100/H200) or "80;90" (commas work too); '
        "default: GPU 0's compute capability from nvidia-smi",
    )
    parser.add_argument(
        "--source", metavar="TARBALL", type=Path, help="build from a tree --pack-source wrote"
    )
    parser.add_argument(
        "--pack-source",
        metavar="OUT.tar.gz",
        type=Path,
        help="write the trimmed llama.cpp tree to OUT.tar.gz and build nothing",
    )
    parser.add_argument(
        "--jobs",
        metavar="N",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="parallel compile jobs (default: the CPUs this process may use)",
    )
    args = parser.parse_args(argv)
    if args.cuda_arch is not None and not args.cuda:
        parser.error("--cuda-arch needs --cuda")
    if args.cuda_arch is not None:
        args.cuda_arch = [part.strip() for part in re.split(r"[;,]", args.cuda_arch)]
        bad = [part for part in args.cuda_arch if not ARCHITECTURE.fullmatch(part)]
        if bad:
            parser.error(f"--cuda-arch: {bad[0]!r} is not an architecture like 90 or 80;90")
    if not 1 <= args.jobs <= 1024:
        parser.error(f"--jobs must be 1 to 1024, not {args.jobs}")
    if args.pack_source is not None and (args.cuda or args.source is not None):
        parser.error("--pack-source only packs: leave out --cuda and --source")
    return args


def gpu0_architecture() -> str:
    """GPU 0's compute capability as CUDA names its architecture (9.0 -> 90)."""
    if shutil.which("nvidia-smi") is None:
        raise BuildError("no --cuda-arch and no nvidia-smi to ask: pass --cuda-arch, e.g. 90")
    query = ["nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader", "--id=0"]
    out = subprocess.run(query, capture_output=True, text=True)
    capability = re.fullmatch(r"(\d+)\.(\d+)", out.stdout.strip())
    if out.returncode != 0 or capability is None:
        said = (out.stderr or out.stdout).strip().splitlines()
        raise BuildError(f"nvidia-smi gave no compute capability ({said[:1]}): pass --cuda-arch")
    return capability[1] + capability[2]


def nvcc_release() -> str:
    """``nvcc --version``'s release line; a clear error where no CUDA toolkit is installed."""
    if shutil.which("nvcc") is None:
        raise BuildError(
            "--cuda needs nvcc on PATH: install the CUDA toolkit (NVIDIA's cuda-toolkit "
            "package, or Debian's nvidia-cuda-toolkit) and put its bin/ on PATH"
        )
    out = subprocess.run(["nvcc", "--version"], capture_output=True, text=True, check=True)
    return next((line for line in out.stdout.splitlines() if "release" in line), out.stdout)


def kept(path: PurePosixPath) -> bool:
    """Whether a path of the llama.cpp tree goes into the trimmed one."""
    parts = path.parts
    if parts and parts[0] in DROPPED:
        return False
    backend = parts[:2] == ("ggml", "src") and len(parts) > 3 and parts[2].startswith("ggml-")
    return not backend or parts[2] in BACKENDS_KEPT


def _trimmed_members(sdist: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    for member in sdist:
        parts = PurePosixPath(member.name).parts
        if parts[1:3] != ("vendor", "llama.cpp") or not kept(PurePosixPath(*parts[3:])):
            continue
        member.name = str(PurePosixPath(PACKED_ROOT, *parts[3:]))
        member.pax_headers = {}  # a long name's "path" there would win over the new name
        member.uid = member.gid = 0
        member.uname = member.gname = ""
        yield member


def pack(out: Path) -> Path:
    """Write the trimmed tree; the same sdist gives the same bytes (no timestamps added)."""
    sdist = _sdist()
    out = out.resolve()
    partial = out.with_name(out.name + ".partial")
    try:
        with (
            tarfile.open(sdist) as source,
            partial.open("wb") as raw,
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as compressed,
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as packed,
        ):
            for member in _trimmed_members(source):
                packed.addfile(member, source.extractfile(member) if member.isfile() else None)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)
    return out


def _unsafe(members: list[tarfile.TarInfo]) -> str | None:
    """Why these members are not a packed tree's: a link or device, a path leaving the folder,
    or more bytes than a source tree has; None when they are plain files and folders."""
    total = 0
    for member in members:
        path = PurePosixPath(member.name)
        if not (member.isfile() or member.isdir()):
            return f"{member.name} is neither a file nor a folder"
        if path.is_absolute() or ".." in path.parts:
            return f"{member.name} leaves the folder"
        total += member.size
    if total > MAX_UNPACKED_BYTES:
        return f"it unpacks to {total / 1e9:.1f} GB"
    return None


def _sdist() -> Path:
    if not SDIST.is_file():
        WORK.mkdir(parents=True, exist_ok=True)
        pip = shlex.split(os.environ.get("PIP", f"{sys.executable} -m pip"))
        download = ["download", "--quiet", "--no-deps", "--no-binary", ":all:"]
        spec = f"llama-cpp-python=={VERSION}"
        if subprocess.run([*pip, *download, spec, "-d", str(WORK)], stdout=sys.stderr).returncode:
            raise BuildError(
                f"pip could not download {spec} (no internet here? pack the source where there "
                "is, with --pack-source, and build here with --source)"
            )
    return SDIST


MAX_UNPACKED_BYTES = 1 << 30
"""The packed tree unpacks to ~60 MB; a tarball claiming more is not one."""


def unpack(tarball: Path, into: Path, cuda: bool) -> Path:
    """Extract a packed tree and check it is one. Only regular files and folders under
    ``into`` are taken, checked here: ``extractall``'s ``filter`` (which would also do it) is
    missing from Python 3.11 before 3.11.4, Debian bookworm's."""
    try:
        with tarfile.open(tarball) as packed:
            members = packed.getmembers()
            if problem := _unsafe(members):
                raise BuildError(f"{tarball} is not a tree --pack-source wrote: {problem}")
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            packed.extractall(into, members=members, **safe)  # type: ignore[arg-type]
    except (OSError, tarfile.TarError) as error:
        raise BuildError(f"cannot extract {tarball}: {error}") from None
    source = into / PACKED_ROOT
    needed = ["CMakeLists.txt", "tools/server", "ggml/src/ggml-cpu"]
    needed += ["ggml/src/ggml-cuda"] if cuda else []
    missing = [path for path in needed if not (source / path).exists()]
    if missing:
        raise BuildError(
            f"{tarball} is not a tree --pack-source wrote: no {PACKED_ROOT}/{missing[0]}"
        )
    return source


def build(args: argparse.Namespace) -> Path:
    nvcc = nvcc_release() if args.cuda else None
    arches = (args.cuda_arch or [gpu0_architecture()]) if args.cuda else []
    variant = f"cuda{'_'.join(arches)}-" if args.cuda else ""
    prefix = CACHE / f"llama-server-{variant}{VERSION}"
    binary = prefix / "bin" / "llama-server"
    if binary.is_file():
        return binary
    partial = binary.with_name("llama-server.partial")
    flags = [*FLAGS]
    flags += [*CUDA_FLAGS, f"-DCMAKE_CUDA_ARCHITECTURES={';'.join(arches)}"] if args.cuda else []
    flags += ["-G", "Ninja"] if shutil.which("ninja") else []
    WORK.mkdir(parents=True, exist_ok=True)
    tarball = args.source.resolve() if args.source is not None else None
    with tempfile.TemporaryDirectory(prefix=f"{variant or 'cpu-'}", dir=WORK) as scratch:
        folder = Path(scratch)
        packed = tarball or pack(folder / "source.tar.gz")
        source = unpack(packed, folder, args.cuda)
        started = time.monotonic()
        built = folder / "build"
        _run(["cmake", "-S", str(source), "-B", str(built), *flags])
        _run(["cmake", "--build", str(built), "--target", "llama-server", "-j", str(args.jobs)])
        seconds = time.monotonic() - started
        (prefix / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(built / "bin" / "llama-server", partial)
    record = {
        "llama_cpp_python": VERSION,
        "source": str(tarball or SDIST),
        "source_sha256": _sha256(tarball or SDIST),
        "llama_cpp_version": version(partial),
        "variant": "cuda" if args.cuda else "cpu",
        "cuda_architectures": ";".join(arches) or None,
        "nvcc": nvcc,
        "cmake_flags": flags,
        "jobs": args.jobs,
        "build_seconds": round(seconds, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (prefix / "build.json").write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(binary)
    return binary


def _run(command: list[str]) -> None:
    if subprocess.run(command, stdout=sys.stderr).returncode != 0:
        raise BuildError(f"{shlex.join(command[:3])} … failed (its output is above)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version(binary: Path) -> str | None:
    """What ``llama-server --version`` prints, run with only the PATH the agent gives engines;
    None, with a warning, where it cannot start here (a CUDA build on a box without a driver)."""
    out = subprocess.run(
        [str(binary), "--version"],
        capture_output=True,
        text=True,
        env={"PATH": ENGINE_PATH},
        timeout=120,
    )
    said = (out.stdout + out.stderr).splitlines()
    version = next((line for line in said if line.startswith("version:")), None)
    if out.returncode != 0 or version is None:
        print(
            "warning: llama-server --version fails with only the PATH the agent gives engines "
            f"({said[-1] if said else out.returncode}): see docs/engines.md (a GPU box)",
            file=sys.stderr,
        )
    return version


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        print(pack(args.pack_source) if args.pack_source is not None else build(args))
    except (BuildError, OSError, tarfile.TarError, subprocess.SubprocessError) as error:
        print(f"build_llama_server: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
