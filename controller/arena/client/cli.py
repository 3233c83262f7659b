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
from arena.client.lazy import LazyCommand

COMMANDS = "arena.client.commands"
LAZY_COMMANDS = {
    "validate": LazyCommand(
        f"{COMMANDS}.suites:validate",
        (
            "Check SUITE_FILE, print the jobs it expands to and, when the controller answers, "
            "which registered agents would take each job and which refuse it and why (their "
            "owners' policies)."
        ),
    ),
    "submit": LazyCommand(
        f"{COMMANDS}.suites:submit",
        "Validate SUITE_FILE, submit it, and print the run id.",
    ),
    "watch": LazyCommand(
        f"{COMMANDS}.suites:watch",
        "Follow RUN_ID live (requests done, tokens/s, errors) until it ends, then show it.",
    ),
    "runs": LazyCommand(
        f"{COMMANDS}.reading:runs",
        "List recent runs, newest first.",
    ),
    "jobs": LazyCommand(
        f"{COMMANDS}.reading:jobs",
        "List the jobs of RUN_ID: target, model, engine, state, attempt, agent, requests.",
    ),
    "describe": LazyCommand(
        f"{COMMANDS}.reading:describe",
        "Everything about one run or one job: state, attempts, agent, progress, notes, spec.",
    ),
    "show": LazyCommand(
        f"{COMMANDS}.reading:show",
        "Per benchmark: mean ± std over runs of the headline metrics, with units.",
    ),
    "capacity": LazyCommand(
        f"{COMMANDS}.frontier:capacity",
        (
            "Highest rate whose p95 TTFT stays under 2, 5 and 10 s, per job with a rate sweep "
            "(default: every run that has one): imported sweeps' published table beside measured "
            "ones."
        ),
    ),
    "pareto": LazyCommand(
        f"{COMMANDS}.frontier:pareto",
        (
            "Total output tokens/s against tokens/s per user, per job and concurrency or rate "
            "(default: every run), frontier marked per benchmark."
        ),
    ),
    "agents": LazyCommand(
        f"{COMMANDS}.reading:agents",
        (
            "List agents with their hardware, status and trust tier; subcommands revoke one, set "
            "its tier or reset its signing key."
        ),
    ),
    "logs": LazyCommand(
        f"{COMMANDS}.reading:logs",
        "Print the engine log of JOB_ID (its current attempt), as the agent streamed it.",
    ),
    "aggregate": LazyCommand(
        f"{COMMANDS}.analysis:aggregate_cmd",
        (
            "Pool every stored run of each model × profile × engine × hardware × variant "
            "(unverified imports on rows of their own unless --include-unverified)."
        ),
    ),
    "rank": LazyCommand(
        f"{COMMANDS}.analysis:rank_cmd",
        "Rank model × profile × engine × hardware with a reference preset (no latency gate).",
    ),
    "compare": LazyCommand(
        f"{COMMANDS}.analysis:compare_cmd",
        (
            "Every job of RUN_IDs (default: every stored run, narrowed by the options) side by "
            "side: one model across hardware, precisions or engines, with ratios to a baseline "
            "column, energy per token, and a note wherever columns are not comparable."
        ),
    ),
    "report": LazyCommand(
        f"{COMMANDS}.report:report",
        (
            "Write one self-contained HTML report (opens offline) of the given runs, or of every "
            "recent run: throughput, latency CDFs, Pareto front, capacity, telemetry, hardware "
            "compare, rankings and the provenance of every number (docs/report.md)."
        ),
    ),
    "cancel": LazyCommand(
        f"{COMMANDS}.manage:cancel",
        "Cancel RUN_ID: queued jobs stop at once, running ones at their agent's next heartbeat.",
    ),
    "drain": LazyCommand(
        f"{COMMANDS}.manage:drain",
        "Let AGENT_NAME finish its current job and take no new one.",
    ),
    "import": LazyCommand(
        f"{COMMANDS}.manage:import_",
        "Import reference result folders and llm-d Benchmark Reports under PATH as runs.",
    ),
    "export": LazyCommand(
        f"{COMMANDS}.manage:export",
        (
            "Write RUN_ID as result folders under DIR (DIR/<model>/<profile>/) for arenactl "
            "import, with --llm-d as llm-d Benchmark Reports, or with --parquet its raw samples "
            "and telemetry as Parquet tables."
        ),
    ),
    "verify": LazyCommand(
        f"{COMMANDS}.provenance:verify_cmd",
        (
            "Check the signed provenance of a run's jobs, or of exported job folders under "
            "FOLDER: each manifest's signature by a key the controller recorded for an agent "
            "(never the key the folder carries), the samples against the digest it signed, and "
            "every number in the result files (and meta.json's model and simulated) against the "
            "signed samples."
        ),
    ),
    "keyring": LazyCommand(
        f"{COMMANDS}.provenance:keyring",
        "The controller's key registry: every signing key each agent has registered with.",
    ),
    "replicate": LazyCommand(
        f"{COMMANDS}.replicate:replicate",
        (
            "Resubmit RUN's suite restricted to official agents matching --on; or, with --check "
            "RUN_A RUN_B, flag every metric whose means differ by more than ±2%."
        ),
    ),
    "trace": LazyCommand(
        f"{COMMANDS}.traces:trace",
        "Session traces: generate one from a profile (coding, chat, rag), or inspect a file.",
    ),
    "bench": LazyCommand(
        f"{COMMANDS}.bench:bench",
        "Benchmark the OpenAI-compatible endpoint at --target, with no controller to set up.",
    ),
    "enroll": LazyCommand(
        f"{COMMANDS}.access:enroll",
        "Enrolment tokens: what a new agent exchanges (once) for its own credential.",
    ),
    "users": LazyCommand(
        f"{COMMANDS}.access:users",
        (
            "Users and their tokens: viewer reads, submitter also submits and cancels its own "
            "runs, admin does everything."
        ),
    ),
    "ca": LazyCommand(
        f"{COMMANDS}.access:ca",
        "The arena CA for mutual TLS: the controller trusts client certificates it issued.",
    ),
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
