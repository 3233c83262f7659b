"""What only the box can check before a job starts, and what every engine gets from it."""

import os
from pathlib import Path

import pytest

from arena.agent.engines.docker import hardening, pin_problem
from arena.agent.engines.sandbox import SAFE_PATH, engine_environment
from arena.agent.policy import box_refusals, load_policy
from arena.client.embedded import endpoint_policy
from arena.common.policy import host_allowed
from arena.common.private import make_private
from arena.common.schemas.engine import ExternalEngine, ProcessEngine, SimulatedEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import ModelSpec

REPO = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "b" * 64


def owner(models: Path) -> AgentPolicy:
    return AgentPolicy.model_validate(
        {
            "runtimes": ["process", "simulated"],
            "models_dir": str(models),
            "process": {
                "user": "nobody" if os.geteuid() == 0 else os.environ.get("USER", "nobody"),
                "recipes": {"llama": {"command": ["/opt/x", "{model_path}", "--port", "{port}"]}},
            },
        }
    )


def test_a_link_out_of_the_models_folder_is_refused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "tiny.gguf").write_text("weights")
    (models / "shadow").symlink_to("/etc/shadow")
    (models / "tok").symlink_to(tmp_path)
    llama = ProcessEngine(runtime="process", recipe="llama")
    assert box_refusals(owner(models), llama, ModelSpec(name="tiny.gguf", engine="e")) == []
    assert box_refusals(owner(models), llama, ModelSpec(name="shadow", engine="e")) == [
        "model 'shadow' leads out of the policy's models_dir through a link"
    ]
    sim = SimulatedEngine(runtime="simulated")
    assert box_refusals(owner(models), sim, ModelSpec(name="m", engine="e", tokenizer="tok/x")) == [
        "tokenizer 'tok/x' leads out of the policy's models_dir through a link"
    ]


def test_a_process_user_the_box_cannot_use_is_refused(tmp_path: Path) -> None:
    policy = owner(tmp_path)
    policy.process.user = "root"
    found = box_refusals(
        policy, ProcessEngine(runtime="process", recipe="llama"), ModelSpec(name="m", engine="e")
    )
    assert found == ["process.user root is root; engines run unprivileged"]


def test_a_pinned_image_must_have_its_digest() -> None:
    assert pin_problem("acme/engine:1", "sha256:" + "c" * 64, []) is None  # nothing pinned
    assert pin_problem(f"acme/engine@{DIGEST}", DIGEST, []) is None  # built here: the id
    assert (
        pin_problem(f"acme/engine@{DIGEST}", "sha256:" + "c" * 64, [f"acme/engine@{DIGEST}"])
        is None
    )
    assert "does not have digest" in (
        pin_problem(f"acme/engine@{DIGEST}", "sha256:" + "c" * 64, []) or ""
    )


def test_containers_always_run_hardened() -> None:
    limits = AgentPolicy.model_validate(
        {"docker": {"cpus": 2.5, "memory": "8g", "pids_limit": 128}}
    )
    assert hardening(limits) == {
        "privileged": False,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": 128,
        "mem_limit": "8g",
        "nano_cpus": 2_500_000_000,
    }


def test_an_engine_sees_only_what_it_is_given(tmp_path: Path) -> None:
    agent = {"DB_PASSWORD": "x", "LANG": "C.UTF-8", "LD_PRELOAD": "/x.so", "PATH": "/evil"}
    env = engine_environment(tmp_path, {"TOKEN": "t"}, agent)
    assert env == {"PATH": SAFE_PATH, "HOME": str(tmp_path), "LANG": "C.UTF-8", "TOKEN": "t"}


def test_an_engine_gets_the_agents_gpu_selection(tmp_path: Path) -> None:
    agent = {"CUDA_VISIBLE_DEVICES": "1", "LD_LIBRARY_PATH": "/usr/local/cuda/lib64"}
    env = engine_environment(tmp_path, {}, agent)
    assert env == {"PATH": SAFE_PATH, "HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": "1"}


def test_the_state_folder_and_its_secrets_are_the_agents_alone(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    for name in ("credential.json", "signing-key.pem"):
        (state / name).write_text("secret")
        (state / name).chmod(0o644)
    make_private(state)
    assert state.stat().st_mode & 0o777 == 0o700
    assert {(state / n).stat().st_mode & 0o777 for n in ("credential.json", "signing-key.pem")} == {
        0o600
    }


@pytest.mark.parametrize("path", ["examples/agent-policy.yaml", "docs/results/agent-policy.yaml"])
def test_the_documented_policies_load(path: str) -> None:
    assert load_policy(REPO / path).runtimes


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/v1", "https://gpu.lan", "http://[::1]:9000", "http://HOST:81"]
)
def test_arenactl_bench_admits_its_endpoint_only(url: str) -> None:
    policy = AgentPolicy.model_validate(endpoint_policy(url))
    assert host_allowed(policy, url) and policy.runtimes == ["external"]
    assert not host_allowed(policy, "http://attacker.example:8000")
    assert (
        box_refusals(
            policy, ExternalEngine(runtime="external", url=url), ModelSpec(name="m", engine="e")
        )
        == []
    )
