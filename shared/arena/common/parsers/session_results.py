"""``NN-<id>.sessions.json`` (``arena.common.exports.sessions``) → an imported session
benchmark whose metrics are recomputed from its samples, with the definitions a measuring
controller uses (``metrics.derive``). The file's own ``steps`` are for readers, so they must
say what the samples give: a file whose steps disagree, or whose samples name a load step the
benchmark cannot have (a relabelled ``u2`` → ``u64`` would claim a higher capacity), is
refused."""

import math
from collections import defaultdict
from collections.abc import Sequence

from pydantic import ValidationError

from arena.common.exports.sessions import SessionResults
from arena.common.metrics.client_load import RunClientFigures
from arena.common.metrics.derive import measured_variants, run_metrics, summary
from arena.common.parsers import ParseError, json_object
from arena.common.schemas.imported import ImportedBenchmark, ImportedStat, ImportedVariant
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import SessionBenchmark
from arena.common.suites.variants import session_variant_allowed

MAX_PROBLEMS_SHOWN = 3


def parse_session_results(text: str) -> SessionResults:
    document = json_object(text)
    if document.get("format") != "arena-session-results":
        raise ParseError("not an Arena session results file: 'format' is not arena-session-results")
    try:
        return SessionResults.model_validate(document)
    except ValidationError as error:
        shown = [
            f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}"
            for problem in error.errors()[:MAX_PROBLEMS_SHOWN]
        ]
        more = error.error_count() - len(shown)
        raise ParseError("; ".join(shown) + (f"; and {more} more" if more > 0 else "")) from None


def session_benchmark(bench_id: str, results: SessionResults) -> ImportedBenchmark:
    """The benchmark under the folder's id (its file name's stem), one variant per load step
    its samples hold, in load order; samples relabelled with that id."""
    spec = results.benchmark
    samples = [sample.model_copy(update={"benchmark": bench_id}) for sample in results.samples]
    variants = session_steps(spec, samples, results.client_load)
    if problems := steps_disagree(results.steps, variants):
        raise ParseError("steps disagree with the samples: " + "; ".join(problems))
    return ImportedBenchmark(
        id=bench_id,
        title=spec.title or bench_id,
        kind="sessions",
        tool="builtin",
        variants=variants,
        samples=samples,
        session=spec,
        engine_metrics=results.engine_metrics,
        gpus=results.gpus,
        client_load=results.client_load,
    )


def session_steps(
    spec: SessionBenchmark,
    samples: Sequence[RequestSample],
    client_load: dict[str, dict[str, float]],
) -> list[ImportedVariant]:
    """Each load step's metrics (mean ± std over runs) from the samples, with the client's CPU
    figure of each run; what an import stores, whoever sent the numbers. Raises
    ``ParseError`` for a sample of a load step the benchmark cannot have."""
    runs: dict[str, dict[int, list[RequestSample]]] = defaultdict(lambda: defaultdict(list))
    for sample in samples:
        runs[sample.variant][sample.run].append(sample)
    if foreign := sorted(key for key in runs if not session_variant_allowed(spec, key)):
        raise ParseError(f"samples of load steps this benchmark cannot have: {', '.join(foreign)}")
    variants = []
    for variant in measured_variants(spec, set(runs)):
        found = [runs[variant.key][run] for run in sorted(runs[variant.key])]
        cpu = client_load.get(variant.key, {})
        per_run = [
            run_metrics(spec, variant, got, RunClientFigures.from_json(cpu.get(str(got[0].run))))
            for got in found
        ]
        stats = summary(variant, found, per_run)
        metrics = {
            key: ImportedStat(mean=stat.mean, std=stat.std, n=stat.n) for key, stat in stats.items()
        }
        variants.append(ImportedVariant(key=variant.key, runs=len(found), metrics=metrics))
    return variants


def steps_disagree(stated: list[ImportedVariant], derived: list[ImportedVariant]) -> list[str]:
    """Where a file's ``steps`` differ from what its samples give (steps, metric keys, values),
    the first few; none when the file states no steps (written by hand from samples only)."""
    if not stated:
        return []
    mine = {variant.key: variant for variant in derived}
    theirs = {variant.key: variant for variant in stated}
    problems = [f"{key}: no samples" for key in theirs.keys() - mine.keys()]
    problems += [f"{key}: not in steps" for key in mine.keys() - theirs.keys()]
    for key in sorted(mine.keys() & theirs.keys()):
        got, said = mine[key].metrics, theirs[key].metrics
        problems += [f"{key} {name}: not in steps" for name in sorted(got.keys() - said.keys())]
        problems += [f"{key} {name}: no such metric" for name in sorted(said.keys() - got.keys())]
        for name in sorted(got.keys() & said.keys()):
            a, b = said[name], got[name]
            if a.n != b.n or not all(
                math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9)
                for x, y in ((a.mean, b.mean), (a.std, b.std))
            ):
                problems.append(
                    f"{key} {name}: steps say {a.mean:g} ± {a.std:g} (n {a.n}), "
                    f"the samples give {b.mean:g} ± {b.std:g} (n {b.n})"
                )
        if mine[key].runs != theirs[key].runs:
            problems.append(
                f"{key}: steps say {theirs[key].runs} runs, the samples hold {mine[key].runs}"
            )
    return problems[:MAX_PROBLEMS_SHOWN]
