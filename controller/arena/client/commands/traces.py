"""``arenactl trace``: make a session trace with the seeded generator, or inspect a trace file
(Arena's format or Mooncake's) before a suite replays it. No controller is involved; the
logic lives in ``arena.common.traces`` (docs/traces.md)."""

from collections.abc import Iterator
from pathlib import Path

import click

from arena.client.context import console
from arena.client.output import emit, output_option
from arena.client.views import view_rows, view_table
from arena.common.traces.format import MAX_SESSIONS, Session
from arena.common.traces.io import write_trace
from arena.common.traces.params import PROFILES
from arena.common.traces.profiles import generated
from arena.common.traces.source import load_trace
from arena.common.traces.summary import TraceSummary, summarise
from arena.common.views.traces import SPREAD


def _params(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, float]:
    params: dict[str, float] = {}
    for pair in values:
        name, sep, text = pair.partition("=")
        try:
            params[name.strip()] = float(text)
        except ValueError:
            raise click.BadParameter(f"expected name=number, got {pair!r}") from None
        if not sep or not name.strip():
            raise click.BadParameter(f"expected name=number, got {pair!r}")
    return params


@click.group()
def trace() -> None:
    """Session traces: generate one from a profile (coding, chat, rag), or inspect a file."""


@trace.command("generate")
@click.option(
    "--profile", type=click.Choice(sorted(PROFILES)), required=True, help="What the sessions are."
)
@click.option(
    "--sessions",
    type=click.IntRange(1, MAX_SESSIONS),
    default=64,
    show_default=True,
    help="How many sessions.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Same seed, same file."
)
@click.option(
    "--param",
    "params",
    multiple=True,
    callback=_params,
    metavar="NAME=VALUE",
    help="Override one of the profile's parameters (docs/traces.md); repeatable.",
)
@click.option(
    "-o",
    "--output",
    "path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="Where to write the trace (JSON Lines; a name ending in .gz is compressed).",
)
def generate_cmd(
    profile: str, sessions: int, seed: int, params: dict[str, float], path: Path
) -> None:
    """Write a seeded trace of SESSIONS sessions of PROFILE to --output."""
    try:
        header, made = generated(profile, sessions, seed, params)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--param") from None
    turns = 0

    def counted() -> Iterator[Session]:
        nonlocal turns
        for session in made:
            turns += len(session.turns)
            yield session

    write_trace(path, header, counted())
    click.echo(f"wrote {path}: {sessions} {profile} sessions, {turns} turns, seed {seed}")


@trace.command("inspect")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "trace_format",
    type=click.Choice(["arena", "mooncake"]),
    default="arena",
    show_default=True,
    help="Arena's session trace or Mooncake JSONL.",
)
@click.option(
    "--block-size",
    type=click.IntRange(1, 4096),
    help="Tokens per hash id of a Mooncake file [default: 512].",
)
@click.option(
    "--sessions", type=click.IntRange(min=1), help="Only the first N sessions (requests)."
)
@click.option(
    "--cache-blocks",
    type=click.IntRange(min=1),
    help="Implied hit rate with an LRU cache of this many blocks [default: unbounded].",
)
@click.option(
    "--cache-block-size",
    type=click.IntRange(1, 4096),
    help="Tokens per cache block of the implied hit rate [default: the trace's block size].",
)
@output_option(tabular=True)
def inspect(
    file: Path,
    trace_format: str,
    block_size: int | None,
    sessions: int | None,
    cache_blocks: int | None,
    cache_block_size: int | None,
    output: str,
) -> None:
    """Print a trace's sessions, turns, the spread of input, context, output and think time,
    sub-agents, and the prefix-cache hit rate it implies (docs/traces.md)."""
    if block_size is not None and trace_format != "mooncake":
        raise click.BadParameter("applies to --format mooncake only", param_hint="--block-size")
    loaded = load_trace(
        file, "mooncake" if trace_format == "mooncake" else "arena", block_size, sessions
    )
    summary = summarise(loaded, cache_blocks, cache_block_size)
    emit(
        console,
        output,
        summary,
        lambda: _show(file, summary),
        lambda: view_rows(SPREAD, summary.spreads),
    )


def _show(file: Path, summary: TraceSummary) -> None:
    made = f"profile {summary.profile}, seed {summary.seed}" if summary.profile else "imported"
    console.print(
        f"{file}: {summary.description or made}\n"
        f"{summary.sessions:,} sessions ({summary.subagent_sessions:,} sub-agent sessions more), "
        f"{summary.requests:,} requests, block size {summary.block_size}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(view_table(SPREAD, summary.spreads))
    bound = f"LRU of {summary.cache_blocks:,} blocks" if summary.cache_blocks else "unbounded"
    console.print(
        f"Implied prefix-cache hit rate ({bound} cache, {summary.cache_block_size}-token "
        f"blocks, one request at a time): {summary.implied_hit_pct_engine:.1f} % with answers "
        f"re-sent as generated (history engine), {summary.implied_hit_pct_trace:.1f} % as "
        f"synthesised (history trace); first turns alone {summary.first_turn_hit_pct:.1f} %",
        highlight=False,
        soft_wrap=True,
    )
