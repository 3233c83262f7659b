"""The agent offers Docker engines only when a daemon answers on the socket."""

import shutil
import socket
from pathlib import Path

import pytest

from arena.agent import hardware


@pytest.fixture
def socket_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "docker.sock"
    monkeypatch.setattr(hardware, "DOCKER_SOCKET", str(path))
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    return path


def test_a_daemon_listening_is_a_runtime(socket_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as daemon:
        daemon.bind(str(socket_path))
        daemon.listen()
        assert hardware._container_runtime() == "docker"


def test_a_socket_file_left_by_a_stopped_daemon_is_not(socket_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as daemon:
        daemon.bind(str(socket_path))  # bound, never listening: what a dead daemon leaves
    assert socket_path.exists()
    assert hardware._container_runtime() is None


def test_no_socket_is_not(socket_path: Path) -> None:
    assert hardware._container_runtime() is None
