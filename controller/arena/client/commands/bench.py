"""``arenactl bench``: benchmark a running OpenAI-compatible endpoint from this machine alone.

Like ``vllm bench serve --base-url`` or ``guidellm benchmark --target``: no controller or agent
to set up. arenactl starts both in-process over a temporary database, runs one suite against
the endpoint through the ``external`` engine profile, prints what ``arenactl show`` prints, and
exits 1 when the run did not succeed. The controller and agent are imported only here.
"""

import json
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click
import yaml

from arena.client.api import ArenaClient
from arena.client.context import console, errors, fail_without_extra
from arena.client.output import output_option
from arena.client.watching import fail_if_invalid, watch
from arena.common.errors import ArenaError
from arena.common.schemas.run import RunState
from arena.common.suites.loader import load_suite_text

SUITE_NAME = "arenactl-bench"


def first_model(url: str, api_key: str | None) -> str:
    """The first model the endpoint's ``/v1/models`` lists."""
    models_url = url.rstrip("/").removesuffix("/v1") + "/v1/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(models_url, headers=headers), timeout=10
        ) as reply:
            listed = json.load(reply)
        return str(listed["data"][0]["id"])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise ArenaError(
            f"cannot read a model name from {models_url} ({error}); pass --model"
        ) from error


def local_tokenizer(path: Path) -> Path:
    """The ``tokenizer.json`` at ``path`` (the file, or a folder holding it), loaded once here
    so that a wrong file fails before anything starts."""
    from arena.client.embedded import tokenizer_problem

    file = (path / "tokenizer.json" if path.is_dir() else path).resolve()
    if problem := tokenizer_problem(file):
        raise click.BadParameter(problem, param_hint="--tokenizer")
    return file


def bench_suite(
    url: str,
    model: str,
    suite: str,
    benchmarks: tuple[str, ...],
    quick: float | None,
    runs: int | None,
    api_key: str | None,
    tokenizer: str | None = None,
    exact_tg: bool = False,
) -> str:
    """The suite file ``arenactl bench`` submits, as YAML; ``tokenizer`` is a file name under
    the embedded agent's models_dir."""
    engine: dict[str, Any] = {"runtime": "external", "url": url}
    if api_key:
        engine["api_key"] = api_key
    model_entry: dict[str, Any] = {"name": model, "engine": "endpoint"}
    if tokenizer:
        model_entry["tokenizer"] = tokenizer
    document: dict[str, Any] = {
        "name": SUITE_NAME,
        "suite": suite,
        "models": [model_entry],
        "engines": {"endpoint": engine},
    }
    optional = {"only": list(benchmarks), "quick": quick, "runs": runs, "exact_tg": exact_tg}
    document |= {key: value for key, value in optional.items() if value}
    return yaml.safe_dump(document, sort_keys=False)


@click.command()
@click.option(
    "--target",
    "url",
    required=True,
    metavar="URL",
    help="The endpoint's base URL, e.g. http://127.0.0.1:8000 (a /v1 suffix is fine).",
)
@click.option("--model", help="Model name for requests  [default: the first of /v1/models]")
@click.option("--suite", default="arena-v1", show_default=True, help="Built-in benchmark set.")
@click.option(
    "--benchmark",
    "benchmarks",
    multiple=True,
    metavar="ID",
    help="Only this benchmark of the set, e.g. 01-chat (repeatable).",
)
@click.option(
    "--quick",
    type=click.FloatRange(0, 1, min_open=True),
    help="Scale lengths and counts by this factor, as quick: in a suite file (0.1: a tenth).",
)
@click.option("--runs", type=click.IntRange(1, 100), help="Repetitions  [default: the suite's]")
@click.option("--api-key", help="Bearer token the endpoint expects.")
@click.option(
    "--tokenizer",
    type=click.Path(exists=True, path_type=Path),
    help="The model's tokenizer.json (or its folder) for exact prompt lengths  "
    "[default: the endpoint's /tokenize; approximate lengths where it has none]",
)
@click.option(
    "--exact-tg",
    is_flag=True,
    help="Closed loops send ignore_eos: every answer exactly tg tokens (exact_tg: in a suite).",
)
@output_option(tabular=True)
def bench(
    url: str,
    model: str | None,
    suite: str,
    benchmarks: tuple[str, ...],
    quick: float | None,
    runs: int | None,
    api_key: str | None,
    tokenizer: Path | None,
    exact_tg: bool,
    output: str,
) -> None:
    """Benchmark the OpenAI-compatible endpoint at --target, with no controller to set up.

    An embedded controller and agent run the benchmarks; the results print as arenactl show
    prints them, and the exit status is 1 when the run did not succeed.
    """
    try:
        from arena.client.embedded import (
            APPROXIMATE_RULE,
            EmbeddedArena,
            endpoint_tokenizer_problem,
        )
    except ImportError as error:
        fail_without_extra(error, "agent,controller", "arenactl bench runs an agent here")
    model = model or first_model(url, api_key)
    tokenizer_file = local_tokenizer(tokenizer) if tokenizer else None
    suite_yaml = bench_suite(
        url,
        model,
        suite,
        benchmarks,
        quick,
        runs,
        api_key,
        tokenizer_file.name if tokenizer_file else None,
        exact_tg,
    )
    load_suite_text(suite_yaml, f"{SUITE_NAME}.yaml")  # bad ids fail before anything starts
    if tokenizer_file is None and (problem := endpoint_tokenizer_problem(url, model, api_key)):
        why, missing = problem
        errors.print(
            f"no tokenizer on the endpoint ({why}): prompt lengths will be approximate "
            f"({APPROXIMATE_RULE}); pass --tokenizer PATH to a tokenizer.json for exact ones"
            if missing
            else f"the endpoint's tokenizer failed ({why}): the job will fail when it counts "
            "prompt tokens; fix the endpoint, or pass --tokenizer PATH to a tokenizer.json",
            highlight=False,
        )
    models_dir = tokenizer_file.parent if tokenizer_file else None
    with (
        tempfile.TemporaryDirectory(prefix="arenactl-bench-") as workdir,
        EmbeddedArena(Path(workdir), url, models_dir) as arena,
        ArenaClient(arena.address, arena.user_token) as client,
    ):
        run_id, _ = client.submit(suite_yaml, f"{SUITE_NAME}.yaml")
        errors.print(f"benchmarking {model} at {url} (run {run_id})", highlight=False)
        detail, results = watch(client, console, run_id, output, arena.alive)
    if detail.run.state != RunState.SUCCEEDED:
        reasons = "; ".join(f"{job.job_id}: {job.message}" for job in detail.jobs if job.message)
        raise ArenaError(f"run {run_id} {detail.run.state}" + (f": {reasons}" if reasons else ""))
    fail_if_invalid(results)
