"""A real llama.cpp engine for the tests: the llama-server binary, a tiny random GGUF, an image.

Nothing comes from a hub or a registry: the binary is built once per machine by
scripts/build_llama_server.sh, the model is generated with random weights (real speed,
meaningless text), and the image is a ``docker import`` of the binary and the libraries it
links against.
"""

import io
import os
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("ARENA_CACHE", Path.home() / ".cache" / "arena"))
IMAGE = "arena-llama-server:test"
MODEL_NAME = "model-f32.gguf"
TOKENIZER_NAME = "tokenizer.json"


def llama_server_binary() -> Path:
    """The cached CPU build (not a CUDA one: llama-server-cuda*); builds it (10-25 min on 2
    cores) when missing."""
    found = sorted(CACHE.glob("llama-server-[0-9]*/bin/llama-server"))
    if found:
        return found[-1]
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "build_llama_server.sh")],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def tiny_gguf(folder: Path) -> Path:
    """A 2-layer random-weight Llama (scripts/make_llama_model.py's ``tiny`` shape, F32) with a
    4096-token byte-level BPE and a chat template; the BPE is also saved as ``tokenizer.json``
    beside it, for clients that count tokens locally."""
    path = folder / MODEL_NAME
    if not (path.exists() and (folder / "tokenizer_config.json").exists()):
        from scripts.make_llama_model import SHAPES, make

        make(folder, SHAPES["tiny"], ["f32"])
    return path


def _libraries(binary: Path) -> list[Path]:
    out = subprocess.run(["ldd", str(binary)], check=True, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/"):
                found.append(Path(part))
                break
    return found


def build_image(binary: Path) -> str:
    """``docker import`` a root filesystem holding llama-server, sh and sleep with their libs."""
    files = {binary: Path("/usr/local/bin/llama-server")}
    for tool in ("/bin/sh", "/bin/sleep"):
        files[Path(tool)] = Path(tool)
    for program in list(files):
        for library in _libraries(program):
            files[library] = library
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for source, target in files.items():
            tar.add(str(source.resolve()), arcname=str(target).lstrip("/"))
        for folder in ("tmp", "models"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(info)
    subprocess.run(
        ["docker", "import", "--change", "ENTRYPOINT []", "-", IMAGE],
        input=buffer.getvalue(),
        check=True,
        capture_output=True,
    )
    return IMAGE
