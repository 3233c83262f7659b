"""``arenactl``: the group, its global options, and where each command lives.

Commands are grouped by what they do: suite files in (``commands.suites``), reading the
controller (``commands.reading``), changing things (``commands.manage``) and the one-shot local
benchmark (``commands.bench``). Each is imported only when asked for (``LazyGroup``), so
``arenactl --version`` stays light. An ArenaError a command raises ends the program in one place
(``ArenactlGroup``). Shell completion comes from click (docs/cli.md).
"""

from typing import Any

import click

from arena.client.exits import ArenactlGroup

COMMANDS = "arena.client.commands"
LAZY_COMMANDS = {
    "validate": f"{COMMANDS}.suites:validate",
    "submit": f"{COMMANDS}.suites:submit",
    "watch": f"{COMMANDS}.suites:watch",
    "runs": f"{COMMANDS}.reading:runs",
    "jobs": f"{COMMANDS}.reading:jobs",
    "describe": f"{COMMANDS}.reading:describe",
    "show": f"{COMMANDS}.reading:show",
    "capacity": f"{COMMANDS}.frontier:capacity",
    "pareto": f"{COMMANDS}.frontier:pareto",
    "agents": f"{COMMANDS}.reading:agents",
    "logs": f"{COMMANDS}.reading:logs",
    "aggregate": f"{COMMANDS}.analysis:aggregate_cmd",
    "rank": f"{COMMANDS}.analysis:rank_cmd",
    "compare": f"{COMMANDS}.analysis:compare_cmd",
    "report": f"{COMMANDS}.report:report",
    "cancel": f"{COMMANDS}.manage:cancel",
    "drain": f"{COMMANDS}.manage:drain",
    "import": f"{COMMANDS}.manage:import_",
    "export": f"{COMMANDS}.manage:export",
    "verify": f"{COMMANDS}.provenance:verify_cmd",
    "keyring": f"{COMMANDS}.provenance:keyring",
    "replicate": f"{COMMANDS}.replicate:replicate",
    "bench": f"{COMMANDS}.bench:bench",
    "enroll": f"{COMMANDS}.access:enroll",
    "users": f"{COMMANDS}.access:users",
    "ca": f"{COMMANDS}.access:ca",
}


@click.group(cls=ArenactlGroup, lazy_commands=LAZY_COMMANDS)
@click.version_option(package_name="arena", prog_name="arenactl")
@click.option("--controller", help="Controller address host:port [ARENACTL_CONTROLLER]")
@click.option("--token", help="User token [ARENACTL_TOKEN]")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="CA (or pinned controller certificate) to verify the controller with [ARENACTL_CA_FILE]",
)
@click.option(
    "--cert-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Client certificate for mutual TLS [ARENACTL_CERT_FILE]",
)
@click.option(
    "--key-file", type=click.Path(exists=True, dir_okay=False), help="Its key [ARENACTL_KEY_FILE]"
)
@click.option(
    "--insecure", is_flag=True, default=None, help="Plain text beyond loopback [ARENACTL_INSECURE]"
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML file with controller and token [ARENACTL_CONFIG_FILE]",
)
@click.pass_context
def cli(ctx: click.Context, /, **flags: Any) -> None:
    """Submit benchmark suites to an Arena controller and read the results."""
    from arena.common.logging import configure_logging  # structlog: not for --version

    configure_logging("warning")
    ctx.obj = flags


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
