"""YAML text with its node tree kept, so that any validation error can name its line.

PyYAML's composed nodes carry start marks; walking them along a pydantic error location gives
the line of the offending value, or of the nearest parent that exists (a missing field points at
the mapping that lacks it).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

Loc = Sequence[int | str]
"""A path into the document as pydantic reports it: mapping keys and list indexes."""

MAX_DEPTH = 64
"""Nesting deeper than this is refused before the (recursive) composer sees it."""
MAX_NODES = 100_000
"""Nodes the document may stand for once every alias is expanded: a few aliases that each
repeat the one before ("billion laughs") stand for billions of nodes in a few lines."""
MAX_EXPANDED_CHARS = 4_000_000
"""Characters of scalars the document may stand for once every alias is expanded: a long
string repeated through aliases stays under the node bound and still makes a huge document."""

SKIPPED_LOC_PARTS = frozenset({"[key]"})
"""Parts pydantic adds to a location that are not in the document (dict-key markers)."""


@dataclass(frozen=True)
class YamlSource:
    """A parsed document: the plain data to validate and the node tree to locate errors in."""

    data: Any
    root: Any
    """The composed root node (``yaml.Node``), or None for an empty document."""


@dataclass(frozen=True)
class YamlSyntaxProblem:
    line: int | None
    message: str


@dataclass(frozen=True)
class Located:
    """Where a location points: the line found and the path as it should be shown."""

    line: int | None
    field: str


def parse_yaml(text: str) -> YamlSource | YamlSyntaxProblem:
    """Safe-load the text once, keeping both the node tree and the constructed data."""
    try:
        loader = yaml.SafeLoader(text)  # checks the characters already: inside the try
    except yaml.YAMLError as error:
        return YamlSyntaxProblem(None, str(error))
    try:
        too_deep = _too_deep(text)
        if too_deep is not None:
            return too_deep
        root = loader.get_single_node()
        nodes, chars = _expanded_size(root, {})
        if nodes > MAX_NODES:
            return YamlSyntaxProblem(
                None,
                f"the document expands to {nodes} nodes through its aliases; at most {MAX_NODES}",
            )
        if chars > MAX_EXPANDED_CHARS:
            return YamlSyntaxProblem(
                None,
                f"the document expands to {chars} characters through its aliases; "
                f"at most {MAX_EXPANDED_CHARS}",
            )
        data = None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = None if mark is None else mark.line + 1
        message = error.problem or "invalid YAML"
        if error.context:
            message += f" ({error.context})"
        return YamlSyntaxProblem(line, message)
    except yaml.YAMLError as error:
        return YamlSyntaxProblem(None, str(error))
    finally:
        loader.dispose()
    return YamlSource(data, root)


def _too_deep(text: str) -> YamlSyntaxProblem | None:
    """Walk the event stream (flat, so any depth is safe) for a nesting past MAX_DEPTH."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                return YamlSyntaxProblem(line, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _expanded_size(node: Any, seen: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """Nodes and scalar characters the tree stands for with aliases expanded; an alias is the
    same node object, so memoising by identity counts it in linear time."""
    if node is None:
        return 0, 0
    if id(node) in seen:
        return seen[id(node)]
    nodes, chars = 1, 0
    if isinstance(node, yaml.ScalarNode):
        chars = len(node.value)
    else:
        children = (
            [part for pair in node.value for part in pair]
            if isinstance(node, yaml.MappingNode)
            else node.value
        )
        for child in children:
            child_nodes, child_chars = _expanded_size(child, seen)
            nodes, chars = nodes + child_nodes, chars + child_chars
    seen[id(node)] = nodes, chars
    return nodes, chars


def format_field(loc: Loc) -> str:
    """``("benchmarks", 2, "request_rate", 0)`` → ``benchmarks[2].request_rate[0]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def locate(root: Any, loc: Loc, union_tags: frozenset[str] = frozenset()) -> Located:
    """Follow ``loc`` through the node tree as far as it exists.

    ``union_tags`` are the discriminator values pydantic inserts into locations of tagged unions
    (``benchmarks[1].open_loop.request_rate``); they are skipped when the document has no such key.
    """
    node, line = root, _line(root)
    shown: list[int | str] = []
    for part in loc:
        if part in SKIPPED_LOC_PARTS:
            continue
        child = _child(node, part)
        if child is None and part in union_tags:
            continue
        shown.append(part)
        if child is None:
            node = None
            continue
        key_node, node = child
        line = _line(key_node)
    return Located(line, format_field(shown))


def has_path(root: Any, loc: Loc) -> bool:
    node = root
    for part in loc:
        child = _child(node, part)
        if child is None:
            return False
        node = child[1]
    return True


def duplicate_keys(root: Any) -> list[list[int | str]]:
    """Paths of keys written twice in one mapping, which YAML would resolve silently (last wins)."""
    found: list[list[int | str]] = []

    def visit(node: Any, path: list[int | str]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    found.append([*path, key])
                seen.add(key)
                visit(value_node, [*path, key])
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                visit(item, [*path, index])

    visit(root, [])
    return found


def _child(node: Any, part: int | str) -> tuple[Any, Any] | None:
    """The (node to report, node to descend into) for one location part, if it exists."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in reversed(node.value):  # the last duplicate wins, as in data
            if str(key_node.value) == str(part):
                return key_node, value_node
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        item = node.value[part]
        return item, item
    return None


def _line(node: Any) -> int | None:
    return None if node is None else int(node.start_mark.line) + 1
