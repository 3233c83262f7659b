"""``arena-agent``: run on each benchmark box; it dials out to the controller."""

import asyncio
import signal
from typing import Any

import click

from arena.agent.settings import AgentSettings
from arena.agent.worker import Agent
from arena.common.logging import configure_logging


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


async def _run(settings: AgentSettings) -> None:
    agent = Agent(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, agent.shutdown)
    await agent.run()


@click.command()
@click.option(
    "--controller",
    "controllers",
    multiple=True,
    help="Controller address host:port; several controllers of one database: repeat the flag "
    "or separate them with commas [ARENA_CONTROLLER]",
)
@click.option("--token", help="Agent token [ARENA_TOKEN]")
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
def main(labels: tuple[str, ...], controllers: tuple[str, ...], **flags: Any) -> None:
    """Run an Arena agent: probe this box, register, and run the jobs it is given."""
    flags["labels"] = _labels(labels)
    flags["controller"] = ",".join(controllers) or None
    settings = AgentSettings(**{k: v for k, v in flags.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_run(settings))


if __name__ == "__main__":
    main()
