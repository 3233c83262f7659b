"""Trust and provenance: ``agents trust``, ``agents reset-key`` and ``verify``."""

import sys
from pathlib import Path

import click
from rich.markup import escape

from arena.client.api import ArenaClient
from arena.client.context import client_for, console
from arena.client.output import emit, output_option
from arena.common.errors import ArenaError
from arena.common.provenance.folder import (
    BROKEN,
    UNSIGNED,
    UNVERIFIED,
    VERIFIED,
    SignedExport,
    Verdict,
    verify,
    verify_tree,
)
from arena.common.provenance.keyring import Keyring, load_keyring
from arena.common.schemas.trust import TrustTier


@click.command("trust")
@click.argument("agent_name")
@click.argument("tier", type=click.Choice([tier.value for tier in TrustTier]))
@click.pass_context
def trust(ctx: click.Context, agent_name: str, tier: str) -> None:
    """Mark AGENT_NAME's results official (the operator's own box) or community.

    Jobs keep the tier their agent had when it leased them; the change applies to new leases.
    """
    with client_for(ctx) as client:
        client.set_trust(agent_name, tier)
    console.print(f"{agent_name}: {tier}")


@click.command("reset-key")
@click.argument("agent_name")
@click.pass_context
def reset_key(ctx: click.Context, agent_name: str) -> None:
    """Forget AGENT_NAME's signing key: its next registration binds the key it brings (after a
    reinstall). Until then a registration with any other key is refused."""
    with client_for(ctx) as client:
        client.reset_key(agent_name)
    console.print(f"{agent_name}: signing key reset; the next registration binds a new one")


def run_verdicts(client: ArenaClient, run_id: str, keyring: Keyring) -> list[Verdict]:
    verdicts = []
    for job in client.results(run_id).jobs:
        if job.origin.kind == "imported":
            continue
        detail = client.job(job.job_id)
        samples = [sample for _, sample in client.samples(job_id=job.job_id)]
        signed = (
            SignedExport(detail.manifest, detail.signature, detail.public_key, samples)
            if detail.manifest
            else None
        )
        verdicts.append(verify(job.job_id, signed, keyring))
    return verdicts


@click.command("verify")
@click.argument("target", metavar="RUN|FOLDER")
@click.option(
    "--keyring",
    "keyring_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check keys against this file (arenactl keyring export) instead of asking the "
    "controller: an offline check.",
)
@output_option()
@click.pass_context
def verify_cmd(ctx: click.Context, target: str, keyring_file: Path | None, output: str) -> None:
    """Check the signed provenance of a run's jobs, or of exported job folders under FOLDER:
    each manifest's signature by a key the controller recorded for an agent (never the key
    the folder carries), the samples against the digest it signed, and every number in the
    result files (and meta.json's model and simulated) against the signed samples.

    Exits 1 when any job is broken, or signed by a key the keyring does not hold; unsigned
    jobs are listed but do not fail.
    """
    folder = Path(target)
    if folder.is_dir() and keyring_file is not None:
        verdicts = verify_tree(folder, load_keyring(keyring_file))
    else:
        with client_for(ctx) as client:
            keyring = load_keyring(keyring_file) if keyring_file else client.keyring()
            if folder.is_dir():
                verdicts = verify_tree(folder, keyring)
            else:
                verdicts = run_verdicts(client, target, keyring)
    if not verdicts:
        raise ArenaError(f"{target}: no signed job found")

    def show() -> None:
        colours = {VERIFIED: "green", UNSIGNED: "yellow"}
        for verdict in verdicts:
            colour = colours.get(verdict.state, "red")
            key = f"  key {verdict.key_sha256[:16]}" if verdict.key_sha256 else ""
            signer = f"  signed by {verdict.signer}" if verdict.signer else ""
            console.print(
                f"[{colour}]{verdict.state}[/]  {escape(verdict.where)}{key}{escape(signer)}",
                highlight=False,
            )
            for problem in verdict.problems:
                console.print(f"  {escape(problem)}", highlight=False, soft_wrap=True)
            for note in verdict.notes:
                console.print(f"  not covered: {escape(note)}", highlight=False, soft_wrap=True)

    emit(console, output, [vars(verdict) for verdict in verdicts], show)
    if any(verdict.state in (BROKEN, UNVERIFIED) for verdict in verdicts):
        sys.exit(1)


@click.group()
def keyring() -> None:
    """The controller's key registry: every signing key each agent has registered with."""


@keyring.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_keyring(ctx: click.Context, file: Path) -> None:
    """Write the controller's keyring to FILE (JSON) for arenactl verify DIR --keyring FILE.

    Fetch it over a channel you trust (TLS with --ca-file): a keyring is what verify believes.
    """
    with client_for(ctx) as client:
        exported = client.keyring()
    file.write_text(exported.model_dump_json(indent=2) + "\n")
    agents = len({entry.agent_id for entry in exported.keys})
    console.print(f"{file}: {len(exported.keys)} key(s) of {agents} agent(s)", highlight=False)
