"""``arenactl``: the group, its global options, and where each command lives.

Commands are grouped by what they do: suite files in (``commands.suites``), reading the
controller (``commands.reading``), changing things (``commands.manage``) and the one-shot local
benchmark (``commands.bench``). Shell completion comes from click (docs/cli.md).
"""

from typing import Any

import click

from arena.client.commands import (
    access,
    analysis,
    bench,
    frontier,
    manage,
    provenance,
    reading,
    replicate,
    report,
    suites,
)
from arena.common.logging import configure_logging


@click.group()
@click.version_option(package_name="arena", prog_name="arenactl")
@click.option("--controller", help="Controller address host:port [ARENACTL_CONTROLLER]")
@click.option("--token", help="User token [ARENACTL_TOKEN]")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False),
              help="CA (or pinned controller certificate) to verify the controller with "
              "[ARENACTL_CA_FILE]")  # fmt: skip
@click.option("--cert-file", type=click.Path(exists=True, dir_okay=False),
              help="Client certificate for mutual TLS [ARENACTL_CERT_FILE]")  # fmt: skip
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False),
              help="Its key [ARENACTL_KEY_FILE]")  # fmt: skip
@click.option("--insecure", is_flag=True, default=None,
              help="Plain text beyond loopback [ARENACTL_INSECURE]")  # fmt: skip
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML file with controller and token [ARENACTL_CONFIG_FILE]",
)
@click.pass_context
def cli(ctx: click.Context, /, **flags: Any) -> None:
    """Submit benchmark suites to an Arena controller and read the results."""
    configure_logging("warning")
    ctx.obj = flags


for command in (
    suites.validate,
    suites.submit,
    suites.watch,
    reading.runs,
    reading.jobs,
    reading.describe,
    reading.show,
    frontier.capacity,
    frontier.pareto,
    reading.agents,
    reading.logs,
    analysis.aggregate_cmd,
    analysis.rank_cmd,
    analysis.compare_cmd,
    report.report,
    manage.cancel,
    manage.drain,
    manage.import_,
    manage.export,
    provenance.verify_cmd,
    provenance.keyring,
    replicate.replicate,
    bench.bench,
    access.enroll,
    access.users,
    access.ca,
):
    cli.add_command(command)
reading.agents.add_command(access.revoke_agent)
reading.agents.add_command(provenance.trust)
reading.agents.add_command(provenance.reset_key)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
