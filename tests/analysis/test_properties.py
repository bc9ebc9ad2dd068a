"""Property tests: the analyser never raises, and reasons always add up to the delta."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.analysis.commit import ChangedFile, Commit
from app.analysis.diff import parse_patch
from app.analysis.engine import AnalysisResult, analyze_commit
from app.analysis.scoring import FORMULA_CAP
from tests.analysis.helpers import commit_of, make_patch

EXTENSIONS = [".py", ".js", ".ts", ".tsx", ".go", ".rs", ".java", ".cs", ".c", ".h", ".cpp",
              ".rb", ".php", ".kt", ".swift", ".sh", ".md", ".json", ".min.js", ""]  # fmt: skip
DIRECTORIES = ["", "src/", "tests/", "node_modules/x/", "docs/", "spec/"]
CODE_WORDS = ["if", "else", "for", "while", "def", "function", "fn", "func", "return", "{", "}",
              "(", ")", ":", ";", "&&", "||", "x", "=", "\n", "    ", "\t", "#", "//", "/*",
              "*/", '"', "'", "eval(", "TODO", "ghp_", "class", "match", "case", "=>"]  # fmt: skip
ENCODINGS = ["utf-8", "latin-1", "utf-16", "cp1252"]

names = st.text("abcxyz_", min_size=1, max_size=6)
paths = st.builds("{}{}{}".format, st.sampled_from(DIRECTORIES), names, st.sampled_from(EXTENSIONS))
code = st.lists(st.sampled_from(CODE_WORDS), max_size=60).map(" ".join)
statuses = st.sampled_from(["added", "modified", "removed", "renamed"])


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "replace")


@st.composite
def text_files(draw: st.DrawFn) -> ChangedFile:
    """A file whose patch really is the diff of its before and after."""
    before, after = draw(code), draw(code)
    encoding = draw(st.sampled_from(ENCODINGS))
    return ChangedFile(
        path=draw(paths), status=draw(statuses), additions=draw(st.integers(0, 10**6)),
        deletions=draw(st.integers(0, 10**6)), patch=make_patch(before, after),
        before=_encode(before, encoding), after=_encode(after, encoding),
    )  # fmt: skip


@st.composite
def random_files(draw: st.DrawFn) -> ChangedFile:
    """A file with arbitrary bytes and an arbitrary (possibly inconsistent) patch."""
    patch = draw(
        st.one_of(st.none(), st.text(max_size=300), code.map(lambda c: "@@ -1,3 +1,2 @@\n" + c))
    )
    return ChangedFile(
        path=draw(paths), status=draw(statuses), patch=patch,
        before=draw(st.one_of(st.none(), st.binary(max_size=400))),
        after=draw(st.one_of(st.none(), st.binary(max_size=400))),
        before_blob=draw(st.one_of(st.none(), st.text("0123456789abcdef", min_size=1, max_size=8))),
    )  # fmt: skip


def _check(result: AnalysisResult) -> None:
    score = result.score
    assert sum(reason.points for reason in score.reasons) == score.delta
    assert 0.0 <= score.quality_score <= 10.0
    assert score.reasons, "there is always at least one reason"
    formula = sum(r.points for r in score.reasons if r.code not in
                  {"risky_code", "secret_committed", "poor_quality"})  # fmt: skip
    assert -FORMULA_CAP <= formula <= FORMULA_CAP
    json.dumps(result.metrics_dict())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(text_files(), random_files()), max_size=6))
def test_never_raises_and_reasons_sum_to_delta(files: list[ChangedFile]) -> None:
    _check(analyze_commit(commit_of(*files), run_ruff=False))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(text_files(), min_size=1, max_size=3))
def test_with_ruff_on_odd_python(files: list[ChangedFile]) -> None:
    python = [ChangedFile(**{**f.__dict__, "path": f"m{i}.py"}) for i, f in enumerate(files)]
    _check(analyze_commit(commit_of(*python)))


@given(st.text(max_size=500))
def test_patch_parser_never_raises(patch: str) -> None:
    diff = parse_patch(patch)
    lines = patch.split("\n")
    assert len(diff.added) <= sum(line.startswith("+") for line in lines)
    assert len(diff.removed) <= sum(line.startswith("-") for line in lines)


def test_empty_commit() -> None:
    result = analyze_commit(Commit(commit_of().info, []))
    _check(result)
    assert result.score.delta == 0
