"""Find a blob's functions with tree-sitter: each grammar's queries, the index, qualified names.

The index comes from one query over the tree (or over the rows a commit
touches); containers and functions arrive outermost first, so a stack of open
ranges names each function after everything enclosing it (`Class.method`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from tree_sitter import Node, Query, QueryCursor, Tree

from app.analysis.grammars import GRAMMARS, load_language

ANONYMOUS = "<anonymous>"
_RECEIVER_TYPE = re.compile(r"([A-Za-z_]\w*)(?:\[[^\]]*\])?\s*\)\s*$")

Capture = tuple[int, int, str, Node]  # (start byte, -end byte, capture name, node)


@dataclass(frozen=True)
class FunctionSpan:
    """Where a function sits in a blob, under its qualified name (`Class.method`)."""

    name: str
    start_byte: int
    end_byte: int
    start_row: int
    end_row: int


@dataclass(frozen=True)
class Queries:
    """The compiled queries of one grammar."""

    index: Query
    body: Query
    comments: Query


def _kinds_pattern(kinds: Iterable[str], capture: str) -> str:
    """One alternation pattern capturing every listed node kind."""
    listed = " ".join(f"({kind})" for kind in kinds)
    return f"[{listed}] @{capture}" if listed else ""


@cache
def queries_for(key: str) -> Queries | None:
    """Compile a grammar's queries once; a bad node kind raises here, so tests catch it."""
    language = load_language(key)
    if language is None:
        return None
    spec = GRAMMARS[key]
    index = " ".join(
        filter(None, [_kinds_pattern(spec.functions, "function"),
                      _kinds_pattern(spec.containers, "container")])
    )  # fmt: skip
    body = " ".join([_kinds_pattern(spec.decisions, "decision"), *spec.patterns,
                     _kinds_pattern(spec.nesting, "nest"),
                     _kinds_pattern(spec.functions, "function")])  # fmt: skip

    comments = " ".join([_kinds_pattern(spec.comments, "comment"), *spec.docstrings])
    return Queries(Query(language, index), Query(language, body), Query(language, comments))


def _text(node: Node | None) -> str:
    """A node's source text, decoded leniently."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _declarator_name(node: Node) -> str:
    """C/C++: follow `declarator` fields down to the function's identifier."""
    current: Node | None = node.child_by_field_name("declarator")
    while current is not None and current.type not in {"function_declarator"}:
        current = current.child_by_field_name("declarator")
    if current is None:
        return ANONYMOUS
    return _text(current.child_by_field_name("declarator")) or ANONYMOUS


def _binding_name(node: Node) -> str:
    """Anonymous functions take the name they are assigned to, when there is one."""
    parent = node.parent
    if parent is not None and parent.type == "expression_list":
        parent = parent.parent  # Go: `f := func() {}`
    if parent is None:
        return ANONYMOUS
    for field_name in ("name", "left", "key", "pattern", "property", "declarator"):
        named = parent.child_by_field_name(field_name)
        if named is not None and named.id != node.id:
            return _text(named).split("\n", 1)[0][:80]
    if parent.type in {"variable_declarator", "property_declaration"}:
        first = parent.named_children[0] if parent.named_child_count else None
        if first is not None and first.id != node.id:
            return _text(first).split("\n", 1)[0][:80]
    return ANONYMOUS


def _go_receiver(node: Node) -> str:
    """Go methods are named `Type.Method` after their receiver's type."""
    match = _RECEIVER_TYPE.search(_text(node.child_by_field_name("receiver")))
    return f"{match.group(1)}." if match else ""


def node_name(node: Node) -> str:
    """The simple name of a function or container node."""
    if node.type == "function_definition" and node.child_by_field_name("declarator"):
        return _declarator_name(node)
    if node.type == "impl_item":
        return _text(node.child_by_field_name("type")) or ANONYMOUS
    named = node.child_by_field_name("name")
    if named is not None:
        prefix = _go_receiver(node) if node.type == "method_declaration" else ""
        return prefix + _text(named)
    return _binding_name(node)


def sorted_captures(query: Query, node: Node, start: int = 0, end: int = -1) -> list[Capture]:
    """Captures as (start, -end, name, node) sorted outermost first, optionally bounded."""
    cursor = QueryCursor(query)
    if end >= 0:
        cursor.set_byte_range(start, end)
    rows = [
        (captured.start_byte, -captured.end_byte, name, captured)
        for name, nodes in cursor.captures(node).items()
        for captured in nodes
        if end < 0 or (captured.start_byte >= start and captured.end_byte <= end)
    ]
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    return rows


def name_functions(captures: list[Capture]) -> list[FunctionSpan]:
    """Functions among sorted index captures, each with its qualified name.

    Containers and functions arrive outermost first, so a stack of open ranges
    gives each function the names of everything enclosing it.
    """
    spans: list[FunctionSpan] = []
    stack: list[tuple[int, str]] = []  # (end byte, name) of enclosing scopes
    for start, neg_end, kind, node in captures:
        while stack and stack[-1][0] <= start:
            stack.pop()
        simple = node_name(node)
        name = ".".join([*(scope for _, scope in stack), simple])
        if kind == "function":
            spans.append(
                FunctionSpan(name, start, -neg_end, node.start_point[0], node.end_point[0])
            )
        stack.append((-neg_end, simple))
    return spans


def build_index(tree: Tree, queries: Queries) -> list[FunctionSpan]:
    """Every function of a tree with its qualified name, in source order."""
    return name_functions(sorted_captures(queries.index, tree.root_node))


def index_rows(tree: Tree, queries: Queries, rows: Iterable[int]) -> list[FunctionSpan]:
    """The functions overlapping some rows, named, without walking the whole tree.

    A range-bounded query returns the nodes that intersect the range, enclosing
    classes and functions included, which is all the naming needs.
    """
    wanted = sorted(set(rows))
    seen: dict[tuple[int, int, str], Node] = {}
    for first, last in row_runs(wanted):
        cursor = QueryCursor(queries.index)
        cursor.set_point_range((first, 0), (last + 1, 0))
        for kind, nodes in cursor.captures(tree.root_node).items():
            for node in nodes:
                seen[(node.start_byte, -node.end_byte, kind)] = node
    captures = [(key[0], key[1], key[2], node) for key, node in sorted(seen.items())]
    return [s for s in name_functions(captures) if _any_between(wanted, s.start_row, s.end_row)]


def _any_between(sorted_rows: list[int], first: int, last: int) -> bool:
    """True when some row lies in [first, last]."""
    index = bisect.bisect_left(sorted_rows, first)
    return index < len(sorted_rows) and sorted_rows[index] <= last


def row_runs(sorted_rows: list[int]) -> list[tuple[int, int]]:
    """Collapse sorted rows into inclusive runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    for row in sorted_rows:
        if runs and runs[-1][1] + 1 == row:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs
