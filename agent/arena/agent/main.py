"""``arena-agent``: run on each benchmark box; it dials out to the controller."""

import asyncio
import signal
from typing import Any

import click

from arena.agent.credential import Credential, enrol, load, path_in
from arena.agent.engines.reaper import become_subreaper
from arena.agent.hardware import probe
from arena.agent.settings import AgentSettings
from arena.agent.worker import Agent
from arena.common.errors import AuthError, UnavailableError
from arena.common.logging import configure_logging
from arena.common.private import restrict_new_files
from arena.common.settings import warn_misspelled_environment


def _labels(values: tuple[str, ...]) -> dict[str, str] | None:
    if not values:
        return None
    labels = {}
    for value in values:
        key, sep, label = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {value!r}", param_hint="--label")
        labels[key] = label
    return labels


async def _run(settings: AgentSettings, enrolment_token: str | None) -> str:
    """Run until stopped; returns why the controller refused the agent, if it did."""
    become_subreaper()
    hardware = probe()
    held: Credential | None = (
        await enrol(settings, enrolment_token, hardware)
        if enrolment_token
        else load(settings.state_dir)
    )
    if held is not None and held.name != settings.name:
        raise click.UsageError(
            f"{path_in(settings.state_dir)} holds the credential of agent {held.name!r}; "
            f"run with --name {held.name} or enrol this name with its own state directory"
        )
    agent = Agent(settings, held, hardware)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, agent.shutdown)
    await agent.run()
    return agent.refused


@click.command()
@click.option(
    "--controller",
    "controllers",
    multiple=True,
    help="Controller address host:port; several controllers of one database: repeat the flag "
    "or separate them with commas [ARENA_CONTROLLER]",
)
@click.option("--token", help="Static agent token, the legacy/dev path [ARENA_TOKEN]")
@click.option(
    "--enroll",
    "enrolment_token",
    metavar="TOKEN",
    help="Exchange this enrolment token (arenactl enroll create) for the agent's own "
    "credential, kept in the state directory; ignored once enrolled",
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="CA or pinned controller certificate [ARENA_CA_FILE]",
)
@click.option(
    "--cert-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Client certificate for mutual TLS [ARENA_CERT_FILE]",
)
@click.option(
    "--key-file", type=click.Path(exists=True, dir_okay=False), help="Its key [ARENA_KEY_FILE]"
)
@click.option(
    "--insecure", is_flag=True, default=None, help="Plain text beyond loopback [ARENA_INSECURE]"
)
@click.option(
    "--policy-file",
    type=click.Path(exists=True, dir_okay=False),
    help="The owner's policy: what suites may run on this box; without one, only "
    "the simulated engine [ARENA_POLICY_FILE]",
)
@click.option("--name", help="Agent name, unique per box [ARENA_NAME; default: hostname]")
@click.option(
    "--label", "labels", multiple=True, help="key=value, repeatable [ARENA_LABELS as JSON]"
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML settings file [ARENA_CONFIG_FILE]",
)
@click.option("--log-level", help="debug, info, warning [ARENA_LOG_LEVEL]")
@click.option("--log-format", type=click.Choice(["console", "json"]))
def main(
    labels: tuple[str, ...], controllers: tuple[str, ...], enrolment_token: str | None, **flags: Any
) -> None:
    """Run an Arena agent: probe this box, register, and run the jobs it is given."""
    restrict_new_files()
    flags["labels"] = _labels(labels)
    flags["controller"] = ",".join(controllers) or None
    settings = AgentSettings(**{k: v for k, v in flags.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format)
    warn_misspelled_environment(AgentSettings)
    try:
        refused = asyncio.run(_run(settings, enrolment_token))
    except AuthError as error:  # the enrolment itself was refused
        raise click.ClickException(f"enrolment refused: {error}") from None
    except UnavailableError as error:  # no controller took the enrolment within its budget
        raise click.ClickException(f"enrolment failed: {error}") from None
    if refused:
        raise click.ClickException(f"the controller refused this agent: {refused}")


if __name__ == "__main__":
    main()
