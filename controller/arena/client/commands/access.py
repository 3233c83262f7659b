"""Who may do what: enrolment tokens for agents, revoking agents, users and their tokens, and
the arena CA for mutual TLS (docs/security.md). Tokens are printed once; the controller keeps
only their hashes."""

import re
import time
from pathlib import Path

import click

from arena.client.context import client_for, console, errors
from arena.client.output import emit, output_option
from arena.common import pki
from arena.common.schemas.user import Role

DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
CA_KEY, CA_CERT = "ca.key", "ca.pem"


def _seconds(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    found = DURATION.match(value.strip())
    if found is None or float(found[1]) <= 0:
        raise click.BadParameter(f"expected a duration such as 30m, 24h or 7d, got {value!r}")
    return float(found[1]) * UNIT_S[found[2]]


def _labels(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    labels = {}
    for pair in (item for value in values for item in value.split(",") if item):
        key, sep, label = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {pair!r}")
        labels[key.strip()] = label.strip()
    return labels


@click.group()
def enroll() -> None:
    """Enrolment tokens: what a new agent exchanges (once) for its own credential."""


@enroll.command("create")
@click.option(
    "--labels",
    "labels",
    multiple=True,
    callback=_labels,
    metavar="K=V[,K=V]",
    help="Labels an agent enrolled with the token may claim; repeatable.",
)
@click.option(
    "--expires",
    default="24h",
    show_default=True,
    callback=_seconds,
    help="How long the token can be used: 30m, 24h, 7d.",
)
@click.option(
    "--uses",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many agents may enrol with it.",
)
@output_option()
@click.pass_context
def create_enrolment(
    ctx: click.Context, labels: dict[str, str], expires: float, uses: int, output: str
) -> None:
    """Make an enrolment token (admin); give it to the agent: arena-agent --enroll TOKEN."""
    with client_for(ctx) as client:
        made = client.create_enrolment(labels, expires, uses)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(made.expires_at_unix))
    emit(
        console,
        output,
        made,
        lambda: console.print(
            f"{made.token}\n{made.enrolment_id}: {uses} use(s), labels {labels or '{}'}, "
            f"expires {when}",
            highlight=False,
            soft_wrap=True,
        ),
    )


@click.command("revoke")
@click.argument("name")
@click.pass_context
def revoke_agent(ctx: click.Context, name: str) -> None:
    """Refuse agent NAME from its next call on; its running job is requeued (admin)."""
    with client_for(ctx) as client:
        revoked, requeued = client.revoke_agent(name)
    console.print(f"{name}: {revoked} credential(s) revoked, {requeued} job(s) requeued")


@click.group()
def users() -> None:
    """Users and their tokens: viewer reads, submitter also submits and cancels its own runs,
    admin does everything."""


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.pass_context
def create_user(ctx: click.Context, name: str, role: str) -> None:
    """Create user NAME and print its token (shown once; admin)."""
    with client_for(ctx) as client:
        token = client.create_user(name, Role(role))
    console.print(token, highlight=False, soft_wrap=True)
    errors.print(f"{name}: {role}; keep the token, the controller stores only its hash")


@users.command("rotate")
@click.argument("name")
@click.pass_context
def rotate_user(ctx: click.Context, name: str) -> None:
    """Print a new token for NAME; the old ones keep working for the grace period."""
    with client_for(ctx) as client:
        token, until = client.rotate_user(name)
    console.print(token, highlight=False, soft_wrap=True)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(until))
    errors.print(f"{name}: earlier tokens stop working at {when}")


@users.command("revoke")
@click.argument("name")
@click.pass_context
def revoke_user(ctx: click.Context, name: str) -> None:
    """Refuse every token of NAME from its next call on (admin)."""
    with client_for(ctx) as client:
        revoked = client.revoke_user(name)
    console.print(f"{name}: {revoked} token(s) revoked")


@users.command("list")
@output_option()
@click.pass_context
def list_users(ctx: click.Context, output: str) -> None:
    """Users, their roles and how many live tokens each holds (admin)."""
    with client_for(ctx) as client:
        found = client.users()

    def show() -> None:
        for user in found:
            state = "revoked" if user.revoked else f"{user.live_tokens} live token(s)"
            console.print(f"{user.name}  {user.role}  {state}", highlight=False)

    emit(console, output, found, show)


@click.group()
def ca() -> None:
    """The arena CA for mutual TLS: the controller trusts client certificates it issued."""


def _ca_dir(value: str) -> Path:
    return Path(value).expanduser()


@ca.command("init")
@click.option("--dir", "directory", default="arena-ca", show_default=True, type=_ca_dir)
def ca_init(directory: Path) -> None:
    """Create the CA key (0600) and certificate in DIR."""
    key_path, cert_path = directory / CA_KEY, directory / CA_CERT
    if key_path.exists():
        raise click.UsageError(f"{key_path} exists; the CA is already initialised")
    key, cert = pki.new_ca()
    pki.write_private(key_path, key)
    cert_path.write_bytes(cert)
    console.print(f"CA certificate {cert_path} (sha256 {pki.fingerprint(cert)})", highlight=False)


@ca.command("issue")
@click.argument("name")
@click.option("--dir", "directory", default="arena-ca", show_default=True, type=_ca_dir)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="A server certificate for these names/addresses (the controller); "
    "without --host: a client certificate (an agent, arenactl).",
)
@click.option("--out", type=_ca_dir, help="Where NAME.pem and NAME.key go [default: DIR]")
def ca_issue(name: str, directory: Path, hosts: tuple[str, ...], out: Path | None) -> None:
    """Issue a certificate for NAME signed by the CA in DIR."""
    try:
        authority = ((directory / CA_KEY).read_bytes(), (directory / CA_CERT).read_bytes())
    except FileNotFoundError:
        raise click.UsageError(f"no CA in {directory}: run arenactl ca init first") from None
    key, cert = pki.issue(authority, name, hosts)
    target = out or directory
    pki.write_private(target / f"{name}.key", key)
    (target / f"{name}.pem").write_bytes(cert)
    kind = "server" if hosts else "client"
    console.print(
        f"{kind} certificate {target / f'{name}.pem'}, key {target / f'{name}.key'}",
        highlight=False,
    )
