"""Tree-sitter parsing: grammars, function index, nesting rules, comments and the blob cache."""

from __future__ import annotations

import pytest

from app.analysis.functions import queries_for
from app.analysis.grammars import GRAMMARS, load_language
from app.analysis.languages import grammar_of
from app.analysis.measure import FunctionMetrics, measure, measure_all
from app.analysis.parsing import BlobCache, blob_key, parse_blob
from tests.analysis.lang_cases import CASES, LangCase


@pytest.mark.parametrize("key", sorted(GRAMMARS))
def test_every_grammar_loads_and_its_node_kinds_exist(key: str) -> None:
    language = load_language(key)
    assert language is not None
    spec = GRAMMARS[key]
    kinds = [*spec.functions, *spec.containers, *spec.decisions, *spec.nesting, *spec.comments]
    missing = [kind for kind in kinds if language.id_for_node_kind(kind, True) in (None, 0)]
    assert missing == []
    assert queries_for(key) is not None


def _metrics(grammar: str, source: str) -> dict[str, FunctionMetrics]:
    parsed = parse_blob(grammar, source.encode())
    assert parsed is not None
    return {span.name: parsed.metrics(span) for span in parsed.functions}


def test_python_nested_functions_and_comprehensions() -> None:
    source = """class A:
    def f(self, x):
        if x and y or z:
            for i in x:
                while i:
                    pass
        elif x:
            return [a for a in x if a]
        else:
            def g():
                if x:
                    return 1
            return g
"""
    metrics = _metrics("python", source)
    # if, and, or, for, while, elif, for-in clause, if clause; g's own if is g's
    assert metrics["A.f"] == FunctionMetrics(9, 12, 3)
    assert metrics["A.f.g"] == FunctionMetrics(2, 3, 1)


def test_else_if_chains_do_not_nest() -> None:
    chain = (
        "function f(x) {\n"
        + "".join(
            f"  {'if' if i == 0 else '} else if'} (x == {i}) {{\n    g();\n" for i in range(6)
        )
        + "  }\n}\n"
    )
    assert _metrics("javascript", chain)["f"] == FunctionMetrics(7, 15, 1)


def test_go_methods_are_named_after_their_receiver() -> None:
    source = "package p\nfunc (s *Server) Handle(x int) {\n\tf := func() {}\n\t_ = f\n}\n"
    assert set(_metrics("go", source)) == {"Server.Handle", "Server.Handle.f"}


def test_cpp_qualified_and_namespaced_names() -> None:
    source = "namespace ns { class A { int m() { return 0; } }; }\nint A::n(int y) { return y; }\n"
    assert set(_metrics("cpp", source)) == {"ns.A.m", "A::n"}


def test_comment_rows_include_docstrings_but_not_code() -> None:
    source = b'"""Module."""\nx = 1  # trailing\n# alone\ny = "# not a comment"\n'
    parsed = parse_blob("python", source)
    assert parsed is not None
    assert parsed.comment_rows(range(4)) == {0, 1, 2}


def test_rust_doc_comment_ends_on_its_own_row() -> None:
    parsed = parse_blob("rust", b"/// Doc\nfn f() {}\n")
    assert parsed is not None
    assert parsed.comment_rows(range(2)) == {0}


def test_in_literal_tells_strings_and_comments_from_code() -> None:
    parsed = parse_blob("python", b'eval(x)  # eval(y)\ns = "eval(z)"\n')
    assert parsed is not None
    assert not parsed.in_literal(0, 0)
    assert parsed.in_literal(0, 11)
    assert parsed.in_literal(1, 5)


def test_functions_on_rows_are_the_ones_overlapping_them() -> None:
    parsed = parse_blob("python", b"def a():\n    pass\n\n\ndef b():\n    pass\n")
    assert parsed is not None
    assert [span.name for span in parsed.functions_on({5})] == ["b"]
    assert [span.name for span in parsed.functions_on({0, 5})] == ["a", "b"]
    assert parsed.functions_on(set()) == []
    nested = parse_blob("python", b"class C:\n    def m(self):\n        return 1\n")
    assert nested is not None
    assert [span.name for span in nested.functions_on({2})] == ["C.m"]


def test_blob_cache_parses_each_blob_once_and_evicts_oldest() -> None:
    cache = BlobCache(max_entries=2)
    first = cache.parsed("python", b"x = 1\n", "sha-1")
    assert cache.parsed("python", b"x = 1\n", "sha-1") is first
    assert (cache.hits, cache.misses) == (1, 1)
    cache.parsed("python", b"y = 2\n", "sha-2")
    cache.parsed("python", b"z = 3\n", "sha-3")
    assert len(cache) == 2
    assert cache.parsed("python", b"x = 1\n", "sha-1") is not first


def test_blob_cache_bounds_the_source_bytes_it_holds() -> None:
    cache = BlobCache(max_entries=100, max_bytes=25)
    cache.put("ruff", "small", (), 10)
    cache.put("ruff", "medium", (), 10)
    cache.put("ruff", "large", (), 10)
    assert cache.peek("ruff", "small") is None
    assert cache.peek("ruff", "large") == ()
    cache.put("ruff", "huge", (), 1000)  # alone over the bound: kept, everything else evicted
    assert len(cache) == 1 and cache.peek("ruff", "huge") == ()


def test_blob_key_is_git_object_id_when_no_sha_is_given() -> None:
    # `printf 'hi\n' | git hash-object --stdin`
    assert blob_key(b"hi\n", None) == "45b983be36b73c0788dc9cbcb76cbb80fc7bb057"
    assert blob_key(b"hi\n", "given") == "given"


def test_broken_source_still_parses_with_error_flag() -> None:
    parsed = parse_blob("python", b"def f(:\n    if\n")
    assert parsed is not None and parsed.has_error


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.language)
def test_one_query_for_many_functions_measures_like_one_each(case: LangCase) -> None:
    grammar = grammar_of(case.source_path)
    assert grammar is not None
    for text in (case.after, case.test, NESTED_PY if grammar == "python" else case.after):
        parsed = parse_blob(grammar_of(case.source_path) or "", text.encode())
        queries = queries_for(parsed.grammar) if parsed else None
        assert parsed is not None and queries is not None
        bulk = measure_all(parsed.tree, queries, 0, len(text.encode()))
        assert {s.start_byte: measure(parsed.tree, queries, s) for s in parsed.functions} == bulk


NESTED_PY = """def outer(a):
    for x in a:
        def inner(y):
            if y and x:
                while y:
                    return 1
        if x:
            inner(x)
    return [z for z in a if z]
"""
