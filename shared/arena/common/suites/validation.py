"""YAML text → a validated pydantic model, or one SuiteError naming every problem by line.

Every pydantic error is placed on the line of its node; errors raised by model validators that
start with a field path (``models[0].engine: unknown engine …``) are placed on that field.
"""

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from arena.common.errors import SuiteError, SuiteProblem
from arena.common.schemas.engine import ENGINE_MODELS
from arena.common.schemas.suite import (
    ClosedLoopBenchmark,
    LoadSearch,
    ModelSpec,
    OpenLoopBenchmark,
    SessionBenchmark,
    SloTier,
    SuiteSpec,
    Target,
    TraceSource,
)
from arena.common.suites.yaml_source import (
    Loc,
    YamlSource,
    YamlSyntaxProblem,
    duplicate_keys,
    has_path,
    locate,
    parse_yaml,
)
from arena.common.text import text_problem

ModelT = TypeVar("ModelT", bound=BaseModel)

_SUITE_MODELS: tuple[type[BaseModel], ...] = (
    SuiteSpec,
    ModelSpec,
    Target,
    ClosedLoopBenchmark,
    OpenLoopBenchmark,
    SessionBenchmark,
    TraceSource,
    LoadSearch,
    SloTier,
    *ENGINE_MODELS,
)
UNION_TAGS = frozenset(
    tag
    for model in _SUITE_MODELS
    for name in ("kind", "runtime")
    if name in model.model_fields
    for tag in get_args(model.model_fields[name].annotation)
)
"""Discriminator values of the suite's tagged unions (``kind``, ``runtime``)."""
KNOWN_FIELDS = sorted({name for model in _SUITE_MODELS for name in model.model_fields})
"""Every field name a suite file can use: the vocabulary for 'did you mean' hints."""

_PATH_PREFIX = re.compile(
    r"^([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): (.+)$", re.S
)
_PATH_PART = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")

MAX_TEXT_CHARS = 4096
"""Longest string a document may hold (a name, a label, a command template, a description)."""
MULTILINE_FIELDS = frozenset({"description", "command"})
"""Fields whose text may span lines (tab and newline); every other string is one line."""

ProblemAt = Callable[[Loc, str], SuiteProblem]
"""Builds a located problem for a path in the document: what later checks use to report."""


@dataclass(frozen=True)
class ValidatedDocument(Generic[ModelT]):
    """A valid model plus the means to report later problems on the document's lines."""

    model: ModelT
    problem_at: ProblemAt


def validate_document(
    model_type: type[ModelT], text: str, filename: str
) -> ValidatedDocument[ModelT]:
    """Parse and validate; raise SuiteError with all problems found, each with its line."""
    source = parse_yaml(text)
    if isinstance(source, YamlSyntaxProblem):
        raise SuiteError(filename, source.line, "", f"invalid YAML: {source.message}")

    def problem_at(loc: Loc, message: str) -> SuiteProblem:
        located = locate(source.root, loc, UNION_TAGS)
        return SuiteProblem(filename, located.line, located.field, message)

    if not isinstance(source.data, dict):
        kind = "empty" if source.data is None else f"a {type(source.data).__name__}"
        raise SuiteError.from_problems(
            [problem_at((), f"expected a mapping of fields, got {kind}")]
        )
    problems = [
        problem_at(path, "key written twice; YAML would keep only the last")
        for path in duplicate_keys(source.root)
    ]
    problems += [problem_at(path, message) for path, message in _text_problems(source.data, [])]
    try:
        model = model_type.model_validate(source.data)
    except ValidationError as error:
        problems += [_problem(source, detail, problem_at) for detail in error.errors()]
    if problems:
        raise SuiteError.from_problems(sorted(problems, key=_line_order))
    return ValidatedDocument(model, problem_at)


def _text_problems(data: object, path: list[int | str]) -> list[tuple[Loc, str]]:
    """Every string too long or holding a control character, keys included, by path."""
    if isinstance(data, str):
        multiline = bool(path) and path[-1] in MULTILINE_FIELDS
        problem = text_problem(data, MAX_TEXT_CHARS, multiline=multiline)
        return [] if problem is None else [(path, problem)]
    found: list[tuple[Loc, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            key_problem = text_problem(str(key), MAX_TEXT_CHARS)
            if key_problem is not None:
                found.append((path, f"a key {key_problem}"))
            found += _text_problems(value, [*path, str(key)])
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found += _text_problems(item, [*path, index])
    return found


def _problem(source: YamlSource, detail: ErrorDetails, problem_at: ProblemAt) -> SuiteProblem:
    loc = list(detail["loc"])
    message = detail["msg"]
    if detail["type"] == "value_error":
        message = message.removeprefix("Value error, ")
        loc, message = _split_leading_path(source, loc, message)
    elif detail["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        message = f"unknown field{_did_you_mean(loc[-1])}"
    elif detail["type"] == "union_tag_not_found":
        discriminator = detail.get("ctx", {}).get("discriminator", "type")
        message = f"missing the {discriminator} field that says which type this is"
    return problem_at(loc, message)


def _line_order(problem: SuiteProblem) -> float:
    return float("inf") if problem.line is None else problem.line


def _split_leading_path(
    source: YamlSource, loc: list[int | str], message: str
) -> tuple[list[int | str], str]:
    """A validator's message may begin with the field it is about; move that into the location."""
    match = _PATH_PREFIX.match(message)
    if match is None:
        return loc, message
    path: list[int | str] = [
        name if name else int(index) for name, index in _PATH_PART.findall(match.group(1))
    ]
    in_document = [part for part in loc if part not in UNION_TAGS]
    if not has_path(source.root, [*in_document, *path]):
        return loc, message
    return [*loc, *path], match.group(2)


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, KNOWN_FIELDS, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""
