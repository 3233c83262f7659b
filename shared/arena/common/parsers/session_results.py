"""``NN-<id>.sessions.json`` (``arena.common.exports.sessions``) → an imported session
benchmark whose metrics are recomputed from its samples, with the definitions a measuring
controller uses (``metrics.derive``): the file's own ``steps`` are for readers only."""

from collections import defaultdict

from pydantic import ValidationError

from arena.common.exports.sessions import SessionResults
from arena.common.metrics.derive import measured_variants, run_metrics, summary
from arena.common.parsers import ParseError, json_object
from arena.common.schemas.imported import ImportedBenchmark, ImportedStat, ImportedVariant
from arena.common.schemas.sample import RequestSample

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
    runs: dict[str, dict[int, list[RequestSample]]] = defaultdict(lambda: defaultdict(list))
    for sample in samples:
        runs[sample.variant][sample.run].append(sample)
    variants = []
    for variant in measured_variants(spec, set(runs)):
        found = [runs[variant.key][run] for run in sorted(runs[variant.key])]
        per_run = [run_metrics(spec, variant, run) for run in found]
        stats = summary(variant, found, per_run)
        metrics = {
            key: ImportedStat(mean=stat.mean, std=stat.std, n=stat.n) for key, stat in stats.items()
        }
        variants.append(ImportedVariant(key=variant.key, runs=len(found), metrics=metrics))
    return ImportedBenchmark(
        id=bench_id,
        title=spec.title or bench_id,
        kind="sessions",
        tool="builtin",
        variants=variants,
        samples=samples,
        session=spec,
        engine_metrics=results.engine_metrics,
    )
