"""Parse a blob once with tree-sitter and answer questions about its functions and comments.

A :class:`ParsedBlob` is keyed by blob sha in a :class:`BlobCache`, because the
"after" of one commit is the "before" of the next. Its function index is built
by one query over the tree; a function's complexity is measured lazily, only
for the functions a commit touches, with a query bounded to that function.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from itertools import accumulate
from typing import Any, TypeVar

from tree_sitter import Node, Parser, Query, QueryCursor, Tree

from app.analysis.grammars import GRAMMARS, load_language

DEFAULT_CACHE_ENTRIES = 512
BULK_MEASURE_AT = 4  # from this many functions on, one query measures them all
# Parsed trees take several times their source in memory: bound the source bytes held.
DEFAULT_CACHE_BYTES = 24_000_000
ANONYMOUS = "<anonymous>"
ELSE_KINDS = frozenset({"else_clause", "else"})
LITERAL_WORDS = ("string", "comment", "heredoc")  # node kinds holding text, not code
STRING_WORDS = ("string", "heredoc")  # node kinds whose whitespace is the program's data
_RECEIVER_TYPE = re.compile(r"([A-Za-z_]\w*)(?:\[[^\]]*\])?\s*\)\s*$")

T = TypeVar("T")


@dataclass(frozen=True)
class FunctionSpan:
    """Where a function sits in a blob, under its qualified name (``Class.method``)."""

    name: str
    start_byte: int
    end_byte: int
    start_row: int
    end_row: int


@dataclass(frozen=True)
class FunctionMetrics:
    """Cyclomatic complexity, length in lines and deepest nesting of one function."""

    cyclomatic: int
    length: int
    nesting: int


@dataclass(frozen=True)
class _Queries:
    """The compiled queries of one grammar."""

    index: Query
    body: Query
    comments: Query


def _kinds_pattern(kinds: Iterable[str], capture: str) -> str:
    """One alternation pattern capturing every listed node kind."""
    listed = " ".join(f"({kind})" for kind in kinds)
    return f"[{listed}] @{capture}" if listed else ""


@cache
def queries_for(key: str) -> _Queries | None:
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
    return _Queries(Query(language, index), Query(language, body), Query(language, comments))


_local = threading.local()


def _thread_parser(key: str) -> Parser | None:
    """A parser for this thread: tree-sitter parsers are not safe to share between threads."""
    parsers: dict[str, Parser | None] = getattr(_local, "parsers", None) or {}
    _local.parsers = parsers
    if key not in parsers:
        language = load_language(key)
        parsers[key] = None if language is None else Parser(language)
    return parsers[key]


def _text(node: Node | None) -> str:
    """A node's source text, decoded leniently."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _declarator_name(node: Node) -> str:
    """C/C++: follow ``declarator`` fields down to the function's identifier."""
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
        parent = parent.parent  # Go: ``f := func() {}``
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
    """Go methods are named ``Type.Method`` after their receiver's type."""
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


def _sorted_captures(
    query: Query, node: Node, start: int = 0, end: int = -1
) -> list[tuple[int, int, str, Node]]:
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


def name_functions(captures: list[tuple[int, int, str, Node]]) -> list[FunctionSpan]:
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


def build_index(tree: Tree, queries: _Queries) -> list[FunctionSpan]:
    """Every function of a tree with its qualified name, in source order."""
    return name_functions(_sorted_captures(queries.index, tree.root_node))


def index_rows(tree: Tree, queries: _Queries, rows: Iterable[int]) -> list[FunctionSpan]:
    """The functions overlapping some rows, named, without walking the whole tree.

    A range-bounded query returns the nodes that intersect the range, enclosing
    classes and functions included, which is all the naming needs.
    """
    wanted = sorted(set(rows))
    seen: dict[tuple[int, int, str], Node] = {}
    for first, last in _runs(wanted):
        cursor = QueryCursor(queries.index)
        cursor.set_point_range((first, 0), (last + 1, 0))
        for kind, nodes in cursor.captures(tree.root_node).items():
            for node in nodes:
                seen[(node.start_byte, -node.end_byte, kind)] = node
    captures = [(key[0], key[1], key[2], node) for key, node in sorted(seen.items())]
    return [s for s in name_functions(captures) if _any_between(wanted, s.start_row, s.end_row)]


def _is_else_if(node: Node) -> bool:
    """An ``else if`` continues a chain; it is not one level deeper."""
    parent = node.parent
    if parent is None:
        return False
    return parent.type in ELSE_KINDS or parent.type == node.type


def measure(tree: Tree, queries: _Queries, span: FunctionSpan) -> FunctionMetrics:
    """Complexity, length and nesting of one function, nested functions left out.

    One query bounded to the function: captures arrive outermost first, so a
    nested function comes before its contents, which are then skipped.
    """
    decisions = deepest = 0
    open_ends: list[int] = []
    nested_end = -1
    for start, neg_end, kind, node in _sorted_captures(
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
    tree: Tree, queries: _Queries, start_byte: int, end_byte: int
) -> dict[int, FunctionMetrics]:
    """Every function within a byte range measured in one query (keyed by start byte).

    Same figures as :func:`measure` per function: each capture belongs to the
    innermost function around it, found with a stack since captures arrive
    outermost first.
    """
    results: dict[int, FunctionMetrics] = {}
    stack: list[_Open] = []
    for start, neg_end, kind, node in _sorted_captures(
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


class ParsedBlob:
    """One parsed file version and everything measured on it so far."""

    def __init__(self, grammar: str, source: bytes, tree: Tree, queries: _Queries) -> None:
        self.grammar = grammar
        self.source = source
        self.tree = tree
        self._queries = queries
        self._index: list[FunctionSpan] | None = None
        self._metrics: dict[int, FunctionMetrics] = {}
        self._lock = threading.Lock()

    @property
    def has_error(self) -> bool:
        """True when tree-sitter had to recover from a syntax error."""
        return self.tree.root_node.has_error

    @property
    def functions(self) -> list[FunctionSpan]:
        """Every function of the blob (a full-tree query, built on first use).

        The analysis itself looks functions up by row with :meth:`functions_on`.
        """
        with self._lock:
            if self._index is None:
                self._index = build_index(self.tree, self._queries)
            return self._index

    def functions_on(self, rows: Iterable[int]) -> list[FunctionSpan]:
        """Functions overlapping the given 0-based rows (a bounded query, not the full index)."""
        return index_rows(self.tree, self._queries, rows)

    def measure_many(self, spans: Sequence[FunctionSpan]) -> None:
        """Measure many functions with one query over their range (cheaper than one each)."""
        missing = [span for span in spans if span.start_byte not in self._metrics]
        if len(missing) < BULK_MEASURE_AT:
            return
        found = measure_all(self.tree, self._queries, min(s.start_byte for s in missing),
                            max(s.end_byte for s in missing))  # fmt: skip
        with self._lock:
            for start, metrics in found.items():
                self._metrics.setdefault(start, metrics)

    def metrics(self, span: FunctionSpan) -> FunctionMetrics:
        """The metrics of one function of this blob, measured once."""
        with self._lock:
            cached = self._metrics.get(span.start_byte)
        if cached is not None:
            return cached
        result = measure(self.tree, self._queries, span)
        with self._lock:
            self._metrics[span.start_byte] = result
        return result

    def node_at(self, row: int, column: int) -> Node | None:
        """The smallest node covering the byte at (row, column)."""
        return self.tree.root_node.descendant_for_point_range((row, column), (row, column))

    def in_literal(self, row: int, column: int, words: tuple[str, ...] = LITERAL_WORDS) -> bool:
        """True when the byte at (row, column) is inside a string or a comment.

        ``words`` narrows it: :data:`STRING_WORDS` asks about strings only.
        """
        node = self.node_at(row, column)
        while node is not None:
            if any(word in node.type for word in words):
                return True
            node = node.parent
        return False

    def comment_rows(self, rows: Iterable[int]) -> set[int]:
        """Which of the given rows lie in a comment or docstring."""
        wanted = sorted(set(rows))
        found: set[int] = set()
        for first, last in _runs(wanted):
            cursor = QueryCursor(self._queries.comments)
            cursor.set_point_range((first, 0), (last + 1, 0))
            for nodes in cursor.captures(self.tree.root_node).values():
                for node in nodes:
                    found.update(
                        range(max(first, node.start_point[0]), min(last, _last_row(node)) + 1)
                    )
        return found


def _last_row(node: Node) -> int:
    """The last row a node covers; a comment ending at column 0 ends on the row before."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point[0] else row


def _any_between(sorted_rows: list[int], first: int, last: int) -> bool:
    """True when some row lies in [first, last]."""
    index = bisect.bisect_left(sorted_rows, first)
    return index < len(sorted_rows) and sorted_rows[index] <= last


def _runs(sorted_rows: list[int]) -> list[tuple[int, int]]:
    """Collapse sorted rows into inclusive runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    for row in sorted_rows:
        if runs and runs[-1][1] + 1 == row:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def blob_key(content: bytes, blob_sha: str | None) -> str:
    """The git blob sha when known, or the one git would compute for the content."""
    if blob_sha:
        return blob_sha
    digest = hashlib.sha1(b"blob %d\0" % len(content))  # git object id, not security
    digest.update(content)
    return digest.hexdigest()


Block = tuple[int, int, int, int]  # (old row, old count, new row, new count), 0-based rows
Edit = tuple[int, int, int, tuple[int, int], tuple[int, int], tuple[int, int]]


def line_starts(data: bytes) -> list[int]:
    """Byte offset of the start of every line (C-level loops only: this sees every line)."""
    return list(accumulate(map((1).__add__, map(len, data.split(b"\n")[:-1])), initial=0))


def _position(starts: list[int], row: int, size: int) -> int:
    """Byte offset of a row's start; rows past the end map to the end."""
    return starts[row] if row < len(starts) else size


def _point(starts: list[int], offset: int) -> tuple[int, int]:
    """(row, column in bytes) of a byte offset."""
    row = bisect.bisect_right(starts, offset) - 1
    return row, offset - starts[row]


def incremental_edits(before: bytes, after: bytes, blocks: Iterable[Block]) -> list[Edit] | None:
    """The tree edits that turn ``before`` into ``after``, or None if the blocks do not.

    Edits are in ascending order, each in the coordinates of the text edited so
    far, so the text before an edit is already the "after" text. The unchanged
    stretches between blocks are compared byte for byte: a patch that does not
    describe these exact versions (cut short, other line endings) falls back to
    a full parse instead of a wrong tree.
    """
    old_starts, new_starts = line_starts(before), line_starts(after)
    edits: list[Edit] = []
    old_pos = new_pos = 0
    for old_row, old_count, new_row, new_count in blocks:
        old_start = _position(old_starts, old_row, len(before))
        old_end = _position(old_starts, old_row + old_count, len(before))
        new_start = _position(new_starts, new_row, len(after))
        new_end = _position(new_starts, new_row + new_count, len(after))
        if old_start < old_pos or before[old_pos:old_start] != after[new_pos:new_start]:
            return None
        start_point = _point(new_starts, new_start)
        old_row_end, old_column = _point(old_starts, old_end)
        old_end_point = (
            start_point[0] + old_row_end - _point(old_starts, old_start)[0],
            old_column,
        )
        edits.append((new_start, new_start + old_end - old_start, new_end,
                      start_point, old_end_point, _point(new_starts, new_end)))  # fmt: skip
        old_pos, new_pos = old_end, new_end
    return edits if before[old_pos:] == after[new_pos:] else None


def _reparse(
    parser: Parser, content: bytes, base: ParsedBlob | None, blocks: tuple[Block, ...]
) -> Tree:
    """Parse incrementally from the previous version's tree when the blocks allow it."""
    edits = incremental_edits(base.source, content, blocks) if base and blocks else None
    if base is None or edits is None:
        return parser.parse(content)
    old = base.tree.copy()
    for start, old_end, new_end, start_point, old_end_point, new_end_point in edits:
        old.edit(start, old_end, new_end, start_point, old_end_point, new_end_point)
    tree = parser.parse(content, old_tree=old)
    # Error recovery may reuse old nodes differently from a fresh parse; results must not
    # depend on what was parsed before, so syntax errors always get a full parse.
    if tree.root_node.has_error or base.tree.root_node.has_error:
        return parser.parse(content)
    return tree


def parse_blob(
    grammar: str, content: bytes, base: ParsedBlob | None = None, blocks: tuple[Block, ...] = ()
) -> ParsedBlob | None:
    """Parse content with a grammar (incrementally from ``base``); None without the grammar."""
    queries = queries_for(grammar)
    parser = _thread_parser(grammar)
    if queries is None or parser is None:
        return None
    usable = base if base is not None and base.grammar == grammar else None
    return ParsedBlob(grammar, content, _reparse(parser, content, usable, blocks), queries)


class BlobCache:
    """A thread-safe LRU of per-blob results, keyed by blob sha and what was computed.

    The bookkeeping is thread-safe, but a tree-sitter tree must not be read by two
    threads at once: share one cache between analyses that run one at a time (as
    replay does), and give concurrent analyses their own (the default).
    """

    def __init__(
        self, max_entries: int = DEFAULT_CACHE_ENTRIES, max_bytes: int = DEFAULT_CACHE_BYTES
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """How many entries the cache holds."""
        return len(self._entries)

    def peek(self, kind: str, key: str) -> Any:
        """The cached value for (kind, key), or None; refreshes its recency."""
        with self._lock:
            entry = self._entries.get((kind, key))
            if entry is None:
                return None
            self._entries.move_to_end((kind, key))
            self.hits += 1
            return entry[0]

    def put(self, kind: str, key: str, value: object, size: int = 0) -> None:
        """Store a value of about ``size`` source bytes, evicting the least recently used."""
        with self._lock:
            old = self._entries.pop((kind, key), None)
            self._bytes += size - (old[1] if old else 0)
            self._entries[(kind, key)] = (value, size)
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def get_or_compute(self, kind: str, key: str, compute: Callable[[], T], size: int = 0) -> T:
        """Return the cached value for (kind, key), computing and storing it on a miss."""
        slot = (kind, key)
        with self._lock:
            entry = self._entries.get(slot)
            if entry is not None:
                self._entries.move_to_end(slot)
                self.hits += 1
                return entry[0]  # type: ignore[return-value]
            self.misses += 1
        value = compute()
        self.put(kind, key, value, size)
        return value

    def parsed(
        self,
        grammar: str,
        content: bytes,
        blob_sha: str | None,
        base: ParsedBlob | None = None,
        blocks: tuple[Block, ...] = (),
    ) -> ParsedBlob | None:
        """The parsed blob for this content, parsing it only the first time.

        With ``base`` (the previous version) and the diff's ``blocks``, the
        first parse is incremental: unchanged subtrees are reused.
        """
        key = blob_key(content, blob_sha)
        parse = partial(parse_blob, grammar, content, base, blocks)
        return self.get_or_compute(f"parse:{grammar}", key, parse, len(content))
