"""Trust and provenance: ``agents trust``, ``agents reset-key`` and ``verify``."""

import sys
from pathlib import Path

import click

from arena.client.api import ArenaClient
from arena.client.context import client_for, console, fail
from arena.client.filters import TIERS
from arena.client.output import emit, output_option
from arena.common.errors import ArenaError
from arena.common.provenance.folder import Verdict, verify, verify_tree


@click.command("trust")
@click.argument("agent_name")
@click.argument("tier", type=click.Choice(TIERS))
@click.pass_context
def trust(ctx: click.Context, agent_name: str, tier: str) -> None:
    """Mark AGENT_NAME's results official (the operator's own box) or community.

    Jobs keep the tier their agent had when it leased them; the change applies to new leases.
    """
    try:
        with client_for(ctx) as client:
            client.set_trust(agent_name, tier)
    except ArenaError as error:
        fail(error)
    console.print(f"{agent_name}: {tier}")


@click.command("reset-key")
@click.argument("agent_name")
@click.pass_context
def reset_key(ctx: click.Context, agent_name: str) -> None:
    """Forget AGENT_NAME's signing key: its next registration binds the key it brings (after a
    reinstall). Until then a registration with any other key is refused."""
    try:
        with client_for(ctx) as client:
            client.reset_key(agent_name)
    except ArenaError as error:
        fail(error)
    console.print(f"{agent_name}: signing key reset; the next registration binds a new one")


def run_verdicts(client: ArenaClient, run_id: str) -> list[Verdict]:
    verdicts = []
    for job in client.results(run_id).jobs:
        if job.imported is not None:
            continue
        detail = client.job(job.job_id)
        samples = [sample for _, sample in client.samples(job_id=job.job_id)]
        verdicts.append(
            verify(job.job_id, detail.manifest, detail.signature, detail.public_key, samples)
        )
    return verdicts


@click.command("verify")
@click.argument("target", metavar="RUN|FOLDER")
@output_option()
@click.pass_context
def verify_cmd(ctx: click.Context, target: str, output: str) -> None:
    """Check the signed provenance of a run's jobs, or of exported job folders under FOLDER:
    each manifest's signature, and the samples against the digest it signed.

    Exits 1 when any manifest is broken; unsigned jobs are listed but do not fail.
    """
    folder = Path(target)
    try:
        if folder.is_dir():
            verdicts = verify_tree(folder)
        else:
            with client_for(ctx) as client:
                verdicts = run_verdicts(client, target)
    except ArenaError as error:
        fail(error)
    if not verdicts:
        fail(ArenaError(f"{target}: no signed job found"))

    def show() -> None:
        for verdict in verdicts:
            colour = {"verified": "green", "unsigned": "yellow"}.get(verdict.state, "red")
            key = f"  key {verdict.key_sha256[:16]}" if verdict.key_sha256 else ""
            console.print(f"[{colour}]{verdict.state}[/]  {verdict.where}{key}", highlight=False)
            for problem in verdict.problems:
                console.print(f"  {problem}", highlight=False, soft_wrap=True)

    emit(console, output, [vars(verdict) for verdict in verdicts], show)
    if any(verdict.state == "broken" for verdict in verdicts):
        sys.exit(1)
