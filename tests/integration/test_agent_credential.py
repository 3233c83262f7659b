"""The agent's side of enrolment over real TLS: ``--enroll`` spends the token once and keeps
the credential 0600 in the state directory, a restart reuses it, and an old credential is
rotated at start while the previous one keeps working for the grace period."""

import asyncio
import json
import stat
from pathlib import Path

import pytest

from arena.agent.credential import enrol, load, path_in
from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.agent.worker import Agent
from arena.client.api import ArenaClient
from arena.common.errors import AuthError
from arena.common.transport import ClientTls
from arena.controller.tls import generated_paths
from tests.integration.test_security import ADMIN, settings_for
from tests.support import ControllerThread


def test_enrol_keep_and_rotate(tmp_path: Path) -> None:
    with ControllerThread(settings_for(tmp_path)) as running:
        tls = ClientTls(generated_paths(running.settings.data_dir)[1])
        with ArenaClient(running.address, ADMIN, tls) as admin:
            token = admin.create_enrolment({"site": "lab"}, 600, 1).token
        settings = AgentSettings(
            controller=running.address,
            name="box-1",
            state_dir=tmp_path / "agent",
            ca_file=tls.ca_file,
            credential_max_age_s=0.001,
        )
        hardware = probe()

        async def scenario() -> None:
            first = await enrol(settings, token, hardware)
            assert first.labels == {"site": "lab"}
            assert stat.S_IMODE(path_in(settings.state_dir).stat().st_mode) == 0o600
            # the same flag again (a restarted service): the saved credential, no new enrolment
            assert await enrol(settings, token, hardware) == first
            agent = Agent(settings, first, hardware)
            try:
                assert await agent._register()
                await agent._rotate_if_old()
            finally:
                await agent.link.close()
                agent.spool.close()
            saved = load(settings.state_dir)
            assert saved is not None and saved.secret != first.secret
            assert saved.labels == {"site": "lab"}
            for secret in (first.secret, saved.secret):  # the old one: grace period
                link = ControllerLink(running.address, secret, tls)
                try:
                    await link.register("box-1", hardware, {"site": "lab"}, {})
                finally:
                    await link.close()
            stranger = ControllerLink(running.address, "arena-agent-guessed", tls)
            try:
                with pytest.raises(AuthError, match="unknown agent token"):
                    await stranger.register("box-1", hardware, {}, {})
            finally:
                await stranger.close()

        asyncio.run(scenario())
    assert json.loads(path_in(settings.state_dir).read_text())["name"] == "box-1"


def test_plain_text_beyond_loopback_only_with_insecure(tmp_path: Path) -> None:
    """Listening on every interface: TLS by default (a generated certificate), plain text
    only when the operator says --insecure."""
    exposed = settings_for(tmp_path).model_copy(update={"listen": "0.0.0.0:0", "tls": False})
    with ControllerThread(exposed) as running:
        cert = generated_paths(exposed.data_dir)[1]
        with ArenaClient(running.address, ADMIN, ClientTls(cert)) as client:
            assert client.runs() == []
    insecure = exposed.model_copy(update={"insecure": True, "data_dir": tmp_path / "plain"})
    with ControllerThread(insecure) as running, ArenaClient(running.address, ADMIN) as client:
        assert client.runs() == []
    assert not generated_paths(insecure.data_dir)[1].exists()
