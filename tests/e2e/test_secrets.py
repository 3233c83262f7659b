"""A planted secret never reaches the database, the logs, an export or ``show -o json``.

Controller and agent run as processes; the agent's environment holds ``HF_TOKEN``, its policy
exposes it, and the suite passes it by name (``secrets:``) to the owner's recipe, which prints
it and starts llama-server. The literal form
(``env: {HF_TOKEN: …}``) is refused at submit. Then every place a value could end up is read
for the secret.
"""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.client.api import ArenaClient
from arena.common.errors import SuiteError
from arena.common.settings import DEV_USER_TOKEN
from tests.llama import MODEL_NAME
from tests.policy_files import LlamaBox, llama_box, write_policy
from tests.support import BIN, Processes

pytestmark = pytest.mark.slow

SECRET = "planted-Secret-4f9c2e7a1b"
"""Not shaped like any known token: only the agent, which knows the value, can redact it."""
HUB_TOKEN = "hf_" + "0" * 34
"""Shaped like a hub token, made up by the engine: replaced for its shape alone."""

SUITE = f"""
name: secrets
models:
  - name: {MODEL_NAME}
    engine: llama
engines:
  llama:
    runtime: process
    recipe: tells
    secrets: {{HF_TOKEN: HF_TOKEN}}
    startup_timeout_s: 60
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [32]
    tg: [8]
    concurrency: [2]
"""


@pytest.fixture
def box() -> Iterator[LlamaBox]:
    with llama_box() as found:
        yield found


@pytest.fixture
def arena(tmp_path: Path, box: LlamaBox) -> Iterator[Processes]:
    script = (
        'echo engine sees $HF_TOKEN and hf_$(printf %034d 0); exec "$0" --model "$1" --port "$2"'
    )
    recipe = {"command": ["/bin/sh", "-c", script, str(box.binary), "{model_path}", "{port}"]}
    policy = write_policy(
        tmp_path,
        {
            "runtimes": ["process"],
            "models_dir": str(box.models_dir),
            "process": {"recipes": {"tells": recipe}},
            "expose_env": ["HF_TOKEN"],
        },
    )
    processes = Processes(tmp_path)
    try:
        processes.start_controller()
        processes.start_agent("agent-a", "--policy-file", str(policy), env={"HF_TOKEN": SECRET})
        yield processes
    finally:
        processes.stop_all()


def wait_done(client: ArenaClient, run_id: str) -> None:
    deadline = time.monotonic() + 120
    while not client.run(run_id).finished:
        assert time.monotonic() < deadline, client.run(run_id)
        time.sleep(0.2)


def test_a_planted_secret_is_nowhere_to_be_found(arena: Processes, tmp_path: Path) -> None:
    suite = SUITE
    literal = suite.replace(
        "    secrets: {HF_TOKEN: HF_TOKEN}", f"    env: {{HF_TOKEN: {HUB_TOKEN}}}"
    )
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        with pytest.raises(SuiteError, match="looks like a hub token"):
            client.submit(literal, "literal.yaml")
        run_id, _ = client.submit(suite, "secrets.yaml")
        wait_done(client, run_id)
        assert client.run(run_id).run.state == "succeeded", client.run(run_id)
        logs = "\n".join(client.logs(client.run(run_id).jobs[0].job_id, 0))
    assert "engine sees *** and ***" in logs  # the engine did print both

    ctl = [str(BIN / "arenactl"), "--controller", arena.address]
    shown = subprocess.run([*ctl, "show", run_id, "-o", "json"], capture_output=True, text=True)
    described = subprocess.run(
        [*ctl, "describe", run_id, "-o", "json"], capture_output=True, text=True
    )
    export = tmp_path / "export"
    subprocess.run([*ctl, "export", run_id, str(export)], check=True, capture_output=True)
    time.sleep(0.5)  # let the processes flush their logs
    places = {
        "show -o json": shown.stdout,
        "describe -o json": described.stdout,
        "controller log": arena.log("controller"),
        "agent log": arena.log("agent-a"),
        **{str(path): path.read_text() for path in export.rglob("*") if path.is_file()},
    }
    database = (arena.data_dir / "arena.db").read_bytes()
    for suffix in ("-wal", "-shm"):
        extra = arena.data_dir / f"arena.db{suffix}"
        if extra.exists():
            database += extra.read_bytes()
    assert shown.returncode == 0 and '"tier": "official"' in shown.stdout
    for secret in (SECRET, HUB_TOKEN):
        assert secret.encode() not in database
        for where, text in places.items():
            assert secret not in text, f"{secret} found in {where}"
