"""Load a suite file: YAML → validated SuiteSpec → ResolvedSuite, or one SuiteError listing every
problem with its line and field path."""

from pathlib import Path

import structlog

from arena.common.errors import SuiteError, SuiteProblem
from arena.common.redact import SECRET_VALUE
from arena.common.schemas.suite import ResolvedSuite, SuiteSpec
from arena.common.suites.limits import SuiteLimits, suite_problems
from arena.common.suites.resolve import resolve_suite
from arena.common.suites.validation import validate_document

log = structlog.get_logger(__name__)

LITERAL_TOKEN = (
    "looks like a hub token or API key, which would be stored with the run: keep it in the "
    "agent's environment and name it (secrets:, api_key_env:)"
)


def load_suite_file(path: str | Path) -> ResolvedSuite:
    """Relative ``dataset_path`` and ``trace.path`` values are taken relative to the suite
    file's folder."""
    filename = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SuiteError(filename, None, "", f"cannot read the suite file: {error}") from error
    return load_suite_text(text, filename, base_dir=Path(path).resolve().parent)


def load_suite_text(
    text: str,
    filename: str = "<suite>",
    *,
    base_dir: Path | None = None,
    limits: SuiteLimits | None = None,
) -> ResolvedSuite:
    """``limits``: bounds the expanded suite must stay within (the controller's, at submit)."""
    tokens = [
        SuiteProblem(filename, number, "", LITERAL_TOKEN)
        for number, line in enumerate(text.splitlines(), 1)
        if SECRET_VALUE.search(line)
    ]
    if tokens:
        raise SuiteError.from_problems(tokens)
    document = validate_document(SuiteSpec, text, filename)
    resolved = resolve_suite(document.model, document.problem_at, base_dir)
    problems = [] if limits is None else suite_problems(resolved, limits, document.problem_at)
    if problems:
        raise SuiteError.from_problems(problems)
    log.debug(
        "suite loaded",
        file=filename,
        suite=resolved.spec.name,
        benchmarks=[bench.id for bench in resolved.benchmarks],
        notes=resolved.simulated_data,
    )
    return resolved
