"""arenactl's access commands against a real TLS controller: enrolment tokens, users and their
roles, revocation, and the arena CA, with the errors a user sees."""

import json
import stat
from pathlib import Path

from click.testing import CliRunner, Result

from arena.client.cli import cli
from arena.controller.tls import generated_paths
from tests.integration.test_security import ADMIN, settings_for
from tests.support import ControllerThread


def run(running: ControllerThread, token: str, *args: str) -> Result:
    ca_file = str(generated_paths(running.settings.data_dir)[1])
    flags = ["--controller", running.address, "--token", token, "--ca-file", ca_file]
    return CliRunner().invoke(cli, [*flags, *args])


def test_admin_manages_users_and_enrolment_tokens(tmp_path: Path) -> None:
    with ControllerThread(settings_for(tmp_path)) as running:
        made = run(
            running,
            ADMIN,
            "enroll",
            "create",
            "--labels",
            "site=lab,rack=2",
            "--expires",
            "2h",
            "--uses",
            "3",
            "-o",
            "json",
        )
        assert made.exit_code == 0, made.output
        assert json.loads(made.stdout)["token"].startswith("arena-enrol-")

        created = run(running, ADMIN, "users", "create", "vic", "--role", "viewer")
        assert created.exit_code == 0, created.output
        viewer = created.stdout.strip()
        assert run(running, viewer, "runs").exit_code == 0
        refused = run(running, viewer, "users", "list")
        assert refused.exit_code == 1
        assert "ListUsers needs the admin role; user 'vic' is viewer" in refused.stderr

        rotated = run(running, viewer, "users", "rotate", "vic")
        assert rotated.exit_code == 0, rotated.output
        assert run(running, viewer, "runs").exit_code == 0  # the old token: grace period
        listed = json.loads(run(running, ADMIN, "users", "list", "-o", "json").stdout)
        assert [(u["name"], u["role"], u["live_tokens"]) for u in listed] == [("vic", "viewer", 2)]

        assert "2 token(s) revoked" in run(running, ADMIN, "users", "revoke", "vic").stdout
        gone = run(running, rotated.stdout.strip(), "runs")
        assert gone.exit_code == 1 and "revoked" in gone.stderr

        unknown = run(running, ADMIN, "agents", "revoke", "nobody")
        assert unknown.exit_code == 1 and "no live credential for agent 'nobody'" in unknown.stderr
        bad = run(running, ADMIN, "enroll", "create", "--expires", "soon")
        assert bad.exit_code == 2 and "expected a duration" in bad.output


def test_ca_init_and_issue_write_private_keys(tmp_path: Path) -> None:
    ca = tmp_path / "ca"
    assert CliRunner().invoke(cli, ["ca", "init", "--dir", str(ca)]).exit_code == 0
    again = CliRunner().invoke(cli, ["ca", "init", "--dir", str(ca)])
    assert again.exit_code == 2 and "already initialised" in again.output
    issued = CliRunner().invoke(cli, ["ca", "issue", "box", "--dir", str(ca)])
    assert issued.exit_code == 0 and "client certificate" in issued.output
    for key in ("ca.key", "box.key"):
        assert stat.S_IMODE((ca / key).stat().st_mode) == 0o600
    missing = CliRunner().invoke(cli, ["ca", "issue", "box", "--dir", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "arenactl ca init" in missing.output
