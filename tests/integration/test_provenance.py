"""Signed provenance and trust tiers on a real controller on loopback: manifests verified on
ingest (a forged one stores nothing), keys bound to agent names, tiers taken at lease time, and
an exported run verified and refused on import once a sample is edited."""

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.errors import AuthError, InvalidRequestError
from arena.common.provenance.keys import load_or_create_key, public_bytes
from arena.common.provenance.manifest import SampleDigest, build_manifest
from arena.common.schemas.job import JobState
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import long_leases, run_leased
from tests.integration.test_export import SUITE as EXPORT_SUITE
from tests.integration.test_protocol import address, sample, submit

TABLES = ("jobs", "samples", "aggregates")


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


def counts(controller: Controller) -> dict[str, int]:
    with sqlite3.connect(controller.settings.data_dir / "arena.db") as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


async def keyed_link(controller: Controller, name: str, key: Ed25519PrivateKey) -> ControllerLink:
    link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
    await link.register(name, probe(), {}, {"arena": "test"}, public_bytes(key))
    return link


async def report_success(
    controller: Controller, key: Ed25519PrivateKey, signer: Ed25519PrivateKey, lie: bool = False
) -> tuple[ControllerLink, str]:
    """Run a job by hand: two samples, then SUCCEEDED with a manifest ``signer`` signed."""
    await submit(controller)
    link = await keyed_link(controller, "box-1", key)
    lease = await link.lease(wait_s=1)
    assert lease is not None
    job = lease.job_id
    await link.report(job, 1, JobState.RUNNING, clock_origin_unix=1.0)
    samples = [sample(0), sample(1)]
    await link.push_samples(job, 1, 1, samples)
    digest = SampleDigest()
    for one in [sample(0), sample(5)] if lie else samples:
        digest.add(one)
    spec = lease.spec.model_dump(mode="json")
    manifest = build_manifest(
        job_id=job, attempt=1, spec=spec, provenance={}, versions={}, samples=digest
    )
    await link.report(
        job,
        1,
        JobState.SUCCEEDED,
        total_samples=2,
        manifest=manifest,
        signature=signer.sign(manifest),
    )
    return link, job


def job_row(controller: Controller, job_id: str) -> tuple[str, str, str, str]:
    """The job's state, and its manifest, tier and flags (columns of ``jobs``)."""
    with sqlite3.connect(controller.settings.data_dir / "arena.db") as conn:
        row = conn.execute(
            "SELECT state, coalesce(manifest, ''), coalesce(tier, ''), coalesce(flags, '[]')"
            " FROM jobs WHERE id = ?",
            (job_id,),
        ).fetchone()
    return tuple(row)


async def test_a_signed_manifest_is_verified_and_kept(controller: Controller) -> None:
    key = Ed25519PrivateKey.generate()
    link, job = await report_success(controller, key, key)
    state, manifest, tier, flags = job_row(controller, job)
    assert (state, tier, json.loads(flags)) == ("succeeded", "official", [])
    assert json.loads(manifest)["samples"]["count"] == 2
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        detail = await asyncio.to_thread(client.job, job)
    assert detail.public_key == public_bytes(key) and detail.job.tier == "official"
    await link.close()


@pytest.mark.parametrize("forgery", ["another key", "other samples"])
async def test_a_forged_manifest_is_refused_and_nothing_is_stored(
    controller: Controller, forgery: str
) -> None:
    key = Ed25519PrivateKey.generate()
    signer = Ed25519PrivateKey.generate() if forgery == "another key" else key
    with pytest.raises(InvalidRequestError, match="signature does not verify|samples do not"):
        await report_success(controller, key, signer, lie=forgery == "other samples")
    state, manifest, _, flags = job_row(controller, *_only_job(controller))
    assert (state, manifest) == ("running", "")  # not finished, nothing kept
    assert counts(controller)["aggregates"] == 0
    assert "manifest" in json.loads(flags)[0] or "signature" in json.loads(flags)[0]


def _only_job(controller: Controller) -> list[str]:
    with sqlite3.connect(controller.settings.data_dir / "arena.db") as conn:
        return [row[0] for row in conn.execute("SELECT id FROM jobs")]


async def test_a_name_keeps_its_key_until_an_admin_resets_it(controller: Controller) -> None:
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    (await keyed_link(controller, "box-1", first))
    with pytest.raises(AuthError, match="another signing key"):
        await keyed_link(controller, "box-1", second)
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        await asyncio.to_thread(client.reset_key, "box-1")
    await keyed_link(controller, "box-1", second)  # the new key is bound now
    with pytest.raises(AuthError):
        await keyed_link(controller, "box-1", first)


async def test_jobs_take_the_tier_of_their_agent_at_lease_time(controller: Controller) -> None:
    key = Ed25519PrivateKey.generate()
    link = await keyed_link(controller, "box-1", key)
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        await asyncio.to_thread(client.set_trust, "box-1", "community")
        agents = await asyncio.to_thread(client.agents)
    assert agents[0].trust == "community"
    await submit(controller)
    lease = await link.lease(wait_s=1)
    assert lease is not None
    assert job_row(controller, lease.job_id)[2] == "community"
    await link.close()


async def test_an_official_target_is_not_leased_to_a_community_agent(
    controller: Controller,
) -> None:
    link = await keyed_link(controller, "box-1", Ed25519PrivateKey.generate())
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        await asyncio.to_thread(client.set_trust, "box-1", "community")
        await asyncio.to_thread(
            client.submit, EXPORT_SUITE.replace("  - name: any", "  - tier: official"), "s.yaml"
        )
    assert await link.lease(wait_s=0.5) is None
    await link.close()


def run_cli(controller: Controller, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--controller", address(controller), *args])
    return result.exit_code, result.output


async def test_an_exported_run_verifies_and_a_tampered_one_is_refused(
    controller: Controller, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    key = load_or_create_key(state)
    assert (state / "signing-key.pem").stat().st_mode & 0o777 == 0o600
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        run_id, _ = await asyncio.to_thread(client.submit, EXPORT_SUITE, "export.yaml")
    link = await keyed_link(controller, "sim-box", key)
    lease = await link.lease(5.0)
    assert lease is not None
    await run_leased(link, lease, AgentSettings(state_dir=state, name="sim-box"))

    code, text = await asyncio.to_thread(run_cli, controller, "verify", run_id)
    assert code == 0 and "verified" in text, text
    out = tmp_path / "export"
    code, text = await asyncio.to_thread(run_cli, controller, "export", run_id, str(out))
    assert code == 0, text
    code, text = await asyncio.to_thread(run_cli, controller, "verify", str(out))
    assert code == 0 and "verified" in text, text

    samples = next(out.rglob("samples.jsonl"))
    lines = samples.read_text().splitlines()
    edited = json.loads(lines[0]) | {"completion_tokens": 999}
    samples.write_text("\n".join([json.dumps(edited), *lines[1:]]) + "\n")
    code, text = await asyncio.to_thread(run_cli, controller, "verify", str(out))
    assert code == 1 and "broken" in text and "samples do not match" in text, text
    before = counts(controller)
    code, text = await asyncio.to_thread(run_cli, controller, "import", str(out))
    assert code == 1 and "provenance does not verify" in text, text
    assert counts(controller) == before
