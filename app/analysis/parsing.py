"""Parse a blob once with tree-sitter and answer questions about its functions and comments.

A `ParsedBlob` is keyed by blob sha in a `BlobCache`, because the "after" of
one commit is the "before" of the next, and is parsed incrementally from that
"before" when the diff allows it (app/analysis/incremental.py). Its function
index comes from app/analysis/functions.py; a function's complexity is measured
lazily (app/analysis/measure.py), only for the functions a commit touches.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

from tree_sitter import Node, Parser, QueryCursor, Tree

from app.analysis.functions import (
    FunctionSpan,
    Queries,
    build_index,
    index_rows,
    queries_for,
    row_runs,
)
from app.analysis.grammars import load_language
from app.analysis.incremental import Block, incremental_edits
from app.analysis.measure import FunctionMetrics, measure, measure_all

DEFAULT_CACHE_ENTRIES = 512
BULK_MEASURE_AT = 4  # from this many functions on, one query measures them all
# Parsed trees take several times their source in memory: bound the source bytes held.
DEFAULT_CACHE_BYTES = 24_000_000
LITERAL_WORDS = ("string", "comment", "heredoc")  # node kinds holding text, not code
STRING_WORDS = ("string", "heredoc")  # node kinds whose whitespace is the program's data

T = TypeVar("T")

_local = threading.local()


def _thread_parser(key: str) -> Parser | None:
    """A parser for this thread: tree-sitter parsers are not safe to share between threads."""
    parsers: dict[str, Parser | None] = getattr(_local, "parsers", None) or {}
    _local.parsers = parsers
    if key not in parsers:
        language = load_language(key)
        parsers[key] = None if language is None else Parser(language)
    return parsers[key]


class ParsedBlob:
    """One parsed file version and everything measured on it so far."""

    def __init__(self, grammar: str, source: bytes, tree: Tree, queries: Queries) -> None:
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

        The analysis itself looks functions up by row with `functions_on`.
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

        `words` narrows it: `STRING_WORDS` asks about strings only.
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
        for first, last in row_runs(wanted):
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


def blob_key(content: bytes, blob_sha: str | None) -> str:
    """The git blob sha when known, or the one git would compute for the content."""
    if blob_sha:
        return blob_sha
    digest = hashlib.sha1(b"blob %d\0" % len(content))  # git object id, not security
    digest.update(content)
    return digest.hexdigest()


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
    """Parse content with a grammar (incrementally from `base`); None without the grammar."""
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
        """Store a value of about `size` source bytes, evicting the least recently used."""
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

        With `base` (the previous version) and the diff's `blocks`, the
        first parse is incremental: unchanged subtrees are reused.
        """
        key = blob_key(content, blob_sha)
        parse = partial(parse_blob, grammar, content, base, blocks)
        return self.get_or_compute(f"parse:{grammar}", key, parse, len(content))
