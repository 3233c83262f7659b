"""A session benchmark through ``arenactl export`` → ``arenactl import``: a real job (the
simulated engine with its prefix cache, Arena's generator) exported to a result folder whose
samples keep their session, turn and cached tokens, and imported into a second controller with
the same numbers and the same capacity in agents."""

import asyncio
import json
from pathlib import Path

import pytest

from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.common.provenance.keys import load_or_create_key
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, long_leases, run_leased
from tests.integration.test_export import arenactl, assert_same_numbers, only_job
from tests.integration.test_provenance import keyed_link
from tests.telemetry_nvml_double import FakeNvml

SUITE = """
name: export-sessions
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
    decode_step_ms: 2
    prefix_cache: true
targets:
  - name: any
runs: 1
benchmarks:
  - kind: sessions
    id: chat
    trace:
      profile: chat
      sessions: 6
      params: {turns_min: 2, turns_max: 3, user_tokens_min: 20, user_tokens_max: 40,
               answer_tokens_min: 8, answer_tokens_max: 16}
    users: [1, 2]
    step_s: 1
    think_scale: 0
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "first")


async def test_a_session_benchmark_exports_and_imports_with_the_same_numbers(
    controller: Controller, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    key = load_or_create_key(state)  # the agent signs its samples
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        run_id, _ = await asyncio.to_thread(client.submit, SUITE, "sessions.yaml")
    link = await keyed_link(controller, "sim-box", key)
    lease = await link.lease(5.0)
    assert lease is not None
    settings = AgentSettings(state_dir=state, name="sim-box", telemetry_interval_s=0.1)
    await run_leased(link, lease, settings, FakeNvml([300.0]))
    original = await only_job(controller, run_id)
    assert original.state == "succeeded", original.message
    [bench] = original.benchmarks
    assert [v.key for v in bench.variants] == ["u1", "u2"] and bench.prefix_cache == "on"
    assert bench.valid, bench.flags
    hit = bench.variants[1].metrics["cache_hit_pct"].mean
    assert hit is not None and hit > 0  # later turns re-send what the cache holds
    capacity = bench.agent_capacity
    assert capacity is not None and [s.load for s in capacity.steps] == [1.0, 2.0]

    out = tmp_path / "results"
    await arenactl(controller, "export", run_id, str(out))
    folder = out / "tiny" / "sim"
    names = {p.name for p in folder.iterdir()}
    assert {"01-chat.sessions.json", "01-telemetry.csv", "meta.json", "manifest.json"} <= names
    assert not any(name.endswith((".md", ".run0.json")) for name in names)
    written = json.loads((folder / "01-chat.sessions.json").read_text())
    assert written["format"] == "arena-session-results" and written["version"] == 1
    samples = written["samples"]
    assert samples and all(s["session"] and s["turn"] is not None for s in samples)
    assert any(s["turn"] > 0 and s["cached_tokens"] for s in samples)

    # against the controller that recorded the agent's key, the signed samples give every
    # number of the session file again (arena.common.provenance), under the folder's id
    [verdict] = json.loads(await arenactl(controller, "verify", str(out), "-o", "json"))
    assert verdict["state"] == "verified", verdict

    second = ControllerSettings(listen="127.0.0.1:0", data_dir=tmp_path / "second")
    async with Controller(second) as other:
        report = json.loads(await arenactl(other, "import", str(out), "-o", "json"))
        (imported_run,) = report["runs"]
        imported = await only_job(other, imported_run["run_id"])
        # a benchmark id without a two-digit prefix is numbered by its position in the folder
        numbered = [b.model_copy(update={"id": "01-chat"}) for b in original.benchmarks]
        assert_same_numbers(original.model_copy(update={"benchmarks": numbered}), imported)
        [again] = imported.benchmarks
        assert again.prefix_cache == "on" and again.kind == "sessions"
        assert again.agent_capacity is not None
        assert again.agent_capacity.capacity == capacity.capacity
        assert again.agent_capacity.steps == capacity.steps
