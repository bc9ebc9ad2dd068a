"""Measure functions on a parsed tree: cyclomatic complexity, length and deepest nesting.

Only the functions a commit touches are measured, each with a query bounded
to its bytes (`measure`); for many functions of one blob, one query over their
whole range measures them all (`measure_all`, from `ParsedBlob.measure_many`),
with the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node, Tree

from app.analysis.functions import FunctionSpan, Queries, sorted_captures

ELSE_KINDS = frozenset({"else_clause", "else"})


@dataclass(frozen=True)
class FunctionMetrics:
    """Cyclomatic complexity, length in lines and deepest nesting of one function."""

    cyclomatic: int
    length: int
    nesting: int


def _is_else_if(node: Node) -> bool:
    """An `else if` continues a chain; it is not one level deeper."""
    parent = node.parent
    if parent is None:
        return False
    return parent.type in ELSE_KINDS or parent.type == node.type


def measure(tree: Tree, queries: Queries, span: FunctionSpan) -> FunctionMetrics:
    """Complexity, length and nesting of one function, nested functions left out.

    One query bounded to the function: captures arrive outermost first, so a
    nested function comes before its contents, which are then skipped.
    """
    decisions = deepest = 0
    open_ends: list[int] = []
    nested_end = -1
    for start, neg_end, kind, node in sorted_captures(
        queries.body, tree.root_node, span.start_byte, span.end_byte
    ):
        if start < nested_end:
            continue
        if kind == "function":
            if (start, -neg_end) != (span.start_byte, span.end_byte):
                nested_end = -neg_end
            continue
        if kind == "decision":
            decisions += 1
            continue
        while open_ends and open_ends[-1] <= start:
            open_ends.pop()
        if not _is_else_if(node):
            open_ends.append(-neg_end)
            deepest = max(deepest, len(open_ends))
    return FunctionMetrics(1 + decisions, span.end_row - span.start_row + 1, deepest)


@dataclass
class _Open:
    """A function being measured while a bulk query walks through it."""

    start_byte: int
    end_byte: int
    rows: int
    decisions: int = 0
    deepest: int = 0
    open_ends: list[int] = field(default_factory=list)

    def metrics(self) -> FunctionMetrics:
        """The finished figures."""
        return FunctionMetrics(1 + self.decisions, self.rows, self.deepest)


def _count(top: _Open, start: int, end: int, kind: str, node: Node) -> None:
    """Attribute one decision or nesting capture to the innermost open function."""
    if kind == "decision":
        top.decisions += 1
        return
    while top.open_ends and top.open_ends[-1] <= start:
        top.open_ends.pop()
    if not _is_else_if(node):
        top.open_ends.append(end)
        top.deepest = max(top.deepest, len(top.open_ends))


def measure_all(
    tree: Tree, queries: Queries, start_byte: int, end_byte: int
) -> dict[int, FunctionMetrics]:
    """Every function within a byte range measured in one query (keyed by start byte).

    Same figures as `measure` per function: each capture belongs to the
    innermost function around it, found with a stack since captures arrive
    outermost first.
    """
    results: dict[int, FunctionMetrics] = {}
    stack: list[_Open] = []
    for start, neg_end, kind, node in sorted_captures(
        queries.body, tree.root_node, start_byte, end_byte
    ):
        while stack and stack[-1].end_byte <= start:
            done = stack.pop()
            results[done.start_byte] = done.metrics()
        if kind == "function":
            rows = node.end_point[0] - node.start_point[0] + 1
            stack.append(_Open(start, -neg_end, rows))
        elif stack:
            _count(stack[-1], start, -neg_end, kind, node)
    results.update((done.start_byte, done.metrics()) for done in stack)
    return results
