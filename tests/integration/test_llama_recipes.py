"""The example policy's llama.cpp recipes, filled by the agent's own code, start the real
llama-server: every flag they pass is one this llama.cpp knows, and the unified KV cache they
ask for is the one it runs (each slot may use the whole context, not its share). The CUDA
recipe runs on the CPU build here, where --n-gpu-layers only warns."""

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from arena.agent.engines.command import launch_spec
from arena.agent.policy import load_policy
from arena.common.errors import PolicyError
from arena.common.schemas.engine import ProcessEngine
from arena.common.schemas.suite import ModelSpec
from tests.llama import CACHE, MODEL_NAME, tiny_gguf
from tests.prerequisites import require
from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = load_policy(REPO / "examples" / "agent-policy.yaml")
PROGRAMS = {
    "llama": "/opt/llama.cpp/bin/llama-server",
    "llama-cuda": "/opt/llama.cpp-cuda/bin/llama-server",
}


def argv(recipe: str, models_dir: Path, **args: int) -> list[str]:
    policy = EXAMPLE.model_copy(update={"models_dir": str(models_dir)})
    profile = ProcessEngine(runtime="process", recipe=recipe, args=args)
    return launch_spec(profile, ModelSpec(name=MODEL_NAME, engine="e"), free_port(), policy).argv


@pytest.mark.parametrize("recipe", sorted(PROGRAMS))
def test_the_example_recipe_starts_llama_server_with_one_kv_cache(recipe: str) -> None:
    built = sorted(CACHE.glob("llama-server-[0-9]*/bin/llama-server"))
    require(bool(built), "a built llama-server (scripts/build_llama_server.sh)")
    command = argv(recipe, tiny_gguf(CACHE / "models").parent, parallel=2, ctx=4096)
    assert command[0] == PROGRAMS[recipe]
    assert {"--kv-unified", "--no-cache-prompt", "--metrics"} <= set(command)
    assert command[command.index("--cache-ram") + 1] == "0"
    url = f"http://127.0.0.1:{command[command.index('--port') + 1]}"
    server = subprocess.Popen(
        [str(built[-1]), *command[1:], "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):
            assert server.poll() is None, server.communicate()[1][-2000:]
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        props = httpx.get(f"{url}/props").json()
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert props["total_slots"] == 2
    assert props["default_generation_settings"]["n_ctx"] == 4096  # split per slot: 2048


def test_the_cuda_recipe_takes_a_context_up_to_262144(tmp_path: Path) -> None:
    assert "262144" in argv("llama-cuda", tmp_path, ctx=262144)
    with pytest.raises(PolicyError, match="ctx must be within 512..262144"):
        argv("llama-cuda", tmp_path, ctx=262145)
