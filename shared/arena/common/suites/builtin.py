"""The built-in benchmark sets (``arena-v1``, ``arena-v2``, ``arena-agentic``), kept as YAML data
beside this module.

They are validated by the same schemas and error reporting as user suite files, so a broken
built-in fails loudly with its line.
"""

from functools import cache
from pathlib import Path

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.suite import Benchmark, Identifier
from arena.common.suites.validation import validate_document

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


class BuiltinSuite(ArenaModel):
    """One built-in set: the benchmarks it runs and the optional ones ``extras:`` can add."""

    name: Identifier
    description: str
    benchmarks: list[Benchmark]
    extras: list[Benchmark] = []


def builtin_names() -> list[str]:
    return sorted(path.stem for path in BUILTIN_DIR.glob("*.yaml"))


def builtin_suite(name: str) -> BuiltinSuite:
    """A fresh copy of one built-in set; raises KeyError for an unknown name."""
    if name not in builtin_names():
        raise KeyError(name)
    return _load(name).model_copy(deep=True)


def builtin_benchmarks(name: str) -> list[Benchmark]:
    return builtin_suite(name).benchmarks


def builtin_extras(name: str) -> list[Benchmark]:
    return builtin_suite(name).extras


@cache
def _load(name: str) -> BuiltinSuite:
    path = BUILTIN_DIR / f"{name}.yaml"
    document = validate_document(BuiltinSuite, path.read_text(encoding="utf-8"), str(path))
    if document.model.name != name:
        raise ValueError(f"{path}: declares name {document.model.name!r}, expected {name!r}")
    return document.model
