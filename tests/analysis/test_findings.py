"""Line findings (`analyze_commit(annotate=True)`): the lines that cost health, by kind, with
their share of the points; secrets named and redacted only; nothing unless asked."""

from __future__ import annotations

import json

from app.analysis.engine import analyze_commit
from tests.analysis.helpers import change, commit_of
from tests.analysis.secret_corpus import _Keys

TANGLED = (
    "def tangled(items, flags):\n"
    "    total = 0\n"
    "    for item in items:\n"
    "        if item:\n"
    "            for flag in flags:\n"
    "                if flag and item > 1:\n"
    "                    while total < 100:\n"
    "                        if total % 2:\n"
    "                            total += item\n"
    "                        else:\n"
    "                            total -= 1\n"
    "    return total\n"
)


def test_findings_point_at_the_lines_that_cost_health() -> None:
    token = _Keys().github()
    after = (
        "import os\n\n\n"
        + TANGLED
        + "\n\ndef run(cmd):\n    return eval(cmd)   \n"
        + f'\n\nTOKEN = "{token}"\n'
        + "x = 1  # TODO: remove\n"
    )
    result = analyze_commit(commit_of(change("app/mod.py", "import os\n", after)), annotate=True)
    kinds = {(f.kind, f.line) for f in result.findings}
    assert ("burden", 4) in kinds  # `def tangled` is on line 4 of the new file
    assert ("risky", 19) in kinds and ("lint", 19) in kinds  # eval, trailing whitespace
    secret = next(f for f in result.findings if f.kind == "secret")
    assert secret.line == 22 and token not in secret.message and token not in secret.title
    assert "redacted" in secret.message
    assert any(f.kind == "lint" and "TODO" in f.message for f in result.findings)
    points = [f.points for f in result.findings]
    assert points == sorted(points, reverse=True) and result.findings[0].kind == "secret"
    stored = json.dumps(result.metrics_dict())
    assert token not in stored and len(result.metrics_dict()["findings"]) == len(result.findings)


def test_no_findings_unless_asked_and_unchanged_score() -> None:
    commit = commit_of(change("a.py", None, TANGLED))
    plain, annotated = analyze_commit(commit), analyze_commit(commit, annotate=True)
    assert plain.findings == () and "findings" not in plain.metrics_dict()
    assert annotated.findings and annotated.score == plain.score
