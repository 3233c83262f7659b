"""Owner policies for tests, and what process engines need to run as the policy's user.

As root (CI), process engines run as ``nobody``, who can read neither ``/root`` (where the
llama-server build and the interpreter live) nor pytest's 0700 temporary folders: a test copies
what an engine runs or reads into a folder everyone may read, as docs/engines.md tells owners.
"""

import getpass
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


def engine_user() -> str:
    """``nobody`` when the tests run as root; else the test's own user (no switch possible)."""
    return "nobody" if os.geteuid() == 0 else getpass.getuser()


def write_policy(folder: Path, policy: dict[str, Any]) -> Path:
    """The policy as the owner writes it; ``process.user`` is filled in when left out."""
    process = policy.setdefault("process", {})
    process.setdefault("user", engine_user())
    path = folder / "agent-policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


@contextmanager
def shared_folder() -> Iterator[Path]:
    """A 0755 folder outside pytest's 0700 ones, removed after the test."""
    folder = Path(tempfile.mkdtemp(prefix="arena-test-shared-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def readable_copy(source: Path, folder: Path) -> Path:
    """``source`` (a file, or a folder with everything under it) copied into ``folder``,
    readable and, where it was, executable by every user."""
    target = folder / source.name
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)
    for path in [target, *target.rglob("*")] if target.is_dir() else [target]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
    return target


@dataclass(frozen=True)
class LlamaBox:
    """llama-server and the tiny model where the engine's user can read them."""

    binary: Path
    models_dir: Path

    def recipe(self) -> dict[str, Any]:
        """The owner's recipe for llama-server: the model under models_dir, a typed ctx."""
        return {
            "command": [
                str(self.binary),
                "--model",
                "{model_path}",
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
                "--parallel",
                "4",
                "--metrics",
                "-c",
                "{ctx}",
            ],
            "args": {"ctx": {"type": "int", "min": 512, "max": 8192, "default": 4096}},
        }


@contextmanager
def llama_box() -> Iterator[LlamaBox]:
    from tests.llama import CACHE, llama_server_binary, tiny_gguf

    with shared_folder() as folder:
        binary = readable_copy(llama_server_binary(), folder)
        models = readable_copy(tiny_gguf(CACHE / "models").parent, folder)
        yield LlamaBox(binary, models)
