"""The scoring changes bench/validity.py asked for, each pinned by a test.

The change's own complexity (size, spread, functions touched), tests counted as
cases, rewards that mirror penalties, dead code deleted with its tests, reverts.
"""

from __future__ import annotations

from pathlib import Path

from app.analysis.complexity import ComplexityMetrics, FunctionChange
from app.analysis.engine import AnalysisResult, analyze_commit
from app.analysis.measure import FunctionMetrics
from app.analysis.scoring import REVERT_TOLERANCE, Reason, Score, revert_score, reverted_sha
from app.jobs.replay import replay
from tests.analysis.helpers import GitRepo, change, commit_of
from tests.analysis.test_scoring import _score


def _analyse(*files: object) -> AnalysisResult:
    return analyze_commit(commit_of(*files), run_ruff=False)  # type: ignore[arg-type]


def _points(result: AnalysisResult) -> dict[str, int]:
    return {reason.code: reason.points for reason in result.score.reasons}


def _module(name: str, lines: int) -> str:
    body = "".join(f"    total += {i}\n" for i in range(lines))
    return f"def {name}(total):\n{body}    return total\n"


def test_a_change_spread_over_many_files_and_directories_costs_points() -> None:
    files = [change(f"pkg{i % 4}/m{i}.py", None, _module(f"f{i}", 8)) for i in range(9)]
    result = _analyse(*files)
    spread = next(r for r in result.score.reasons if r.code == "change_spread")
    assert spread.detail == "change spread over 9 files in 4 directories"
    assert spread.points <= -3  # log2(9) ≈ 3.2 bits × 2.5 × 0.4
    assert result.change.source_files == 9 and result.change.directories == 4


def test_a_small_focused_change_earns_and_a_large_one_costs() -> None:
    small = _analyse(change("a.py", _module("f", 5), _module("f", 5).replace("+= 1", "+= 2")))
    large = _analyse(change("a.py", None, _module("f", 400)))
    assert _points(small)["change_size"] > 0
    assert _points(large)["change_size"] < 0
    assert small.score.delta > large.score.delta


def test_size_alone_orders_otherwise_equal_commits() -> None:
    deltas = [_analyse(change("a.py", None, _module("f", n))).score.delta for n in (3, 30, 300)]
    assert deltas == sorted(deltas, reverse=True) and deltas[0] > deltas[-1]


THREE_TESTS = "".join(f"def test_{n}():\n    assert f({n}) == {n}\n\n\n" for n in ("a", "b", "c"))
PARAMETRIZED = (
    "import pytest\n\n\n"
    '@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])\n'
    "def test_f(n):\n    assert f(n) == n\n"
)


def test_three_tests_folded_into_one_parametrized_test_of_five_cases_is_a_gain() -> None:
    result = _analyse(change("tests/test_f.py", THREE_TESTS, PARAMETRIZED))
    assert result.tests.test_functions_removed == 3 and result.tests.test_functions_added == 1
    assert result.tests.net_test_cases == 2
    assert _points(result).get("tests_added", 0) > 0
    assert "tests_removed" not in _points(result)


def test_a_data_table_is_not_tests() -> None:
    table = "CASES = [\n" + "".join(f"    ({i}, {i * i}),\n" for i in range(80)) + "]\n"
    result = _analyse(change("tests/data_table.py", None, table))
    assert result.tests.test_lines_added == 82
    assert result.tests.net_test_cases == 0
    assert "tests_added" not in _points(result)


def test_source_changed_with_its_tests_earns_more_than_without() -> None:
    source = change("app.py", _module("f", 5), _module("f", 6))
    test = change("tests/test_app.py", "def test_f():\n    assert f(0) == 10\n",
                  "def test_f():\n    assert f(0) == 15\n")  # fmt: skip
    without, with_tests = _analyse(source), _analyse(source, test)
    assert with_tests.tests.net_test_cases == 0  # no new case: an existing test was updated
    assert with_tests.score.delta > without.score.delta
    assert _points(with_tests)["tests_added"] > 0


def _burden_change(before: FunctionMetrics | None, after: FunctionMetrics | None) -> Score:
    complexity = ComplexityMetrics(functions=[FunctionChange("a.py", "f", before, after)])
    return _score(complexity=complexity)


def test_removing_burden_earns_what_adding_it_costs() -> None:
    simple, knotted = FunctionMetrics(3, 20, 1), FunctionMetrics(14, 90, 6)
    added = _burden_change(simple, knotted)
    removed = _burden_change(knotted, simple)
    assert added.reasons[0].code == "complexity_added"
    assert removed.reasons[0].code == "complexity_reduced"
    assert removed.delta == -added.delta != 0


def test_deleting_dead_code_together_with_its_tests_is_not_a_loss() -> None:
    dead = _module("unused", 30)
    tests = "def test_unused():\n    assert unused(0) == 435\n"
    keep = "def used():\n    return 1\n"
    result = _analyse(change("lib.py", keep + "\n\n" + dead, keep), change("tests/test_lib.py",
                      tests + "\n\ndef test_used():\n    assert used() == 1\n",
                      "def test_used():\n    assert used() == 1\n"))  # fmt: skip
    assert result.tests.net_test_cases == -1
    assert result.score.delta >= 0
    assert "tests_removed" not in _points(result)


def test_a_revert_message_names_the_reverted_commit() -> None:
    message = 'Revert "Add cache"\n\nThis reverts commit 0123456789ABCDEF0123456789abcdef01234567.'
    assert reverted_sha(message) == "0123456789abcdef0123456789abcdef01234567"
    assert reverted_sha("Fix the revert button") is None


def test_a_revert_scores_the_negative_of_the_reverted_delta() -> None:
    own = Score(6.0, 3, [Reason("change_size", 3, "small change")])
    reverted = revert_score(own, "f" * 40, -7)
    assert reverted.delta == 7
    assert sum(r.points for r in reverted.reasons) == reverted.delta
    assert reverted.reasons[0].code == "revert" and "fffffff" in reverted.reasons[0].detail
    poisoned = Score(0.0, -15, [Reason("secret_committed", -15, "key")], poisoned=True)
    assert revert_score(poisoned, "f" * 40, 4) is poisoned


async def test_replay_scores_a_git_revert_as_the_negative_of_the_reverted_commit(
    tmp_path: Path,
) -> None:
    repo = GitRepo(tmp_path / "reverting")
    repo.commit("start", {"lib.py": _module("f", 3)})
    big = repo.commit("big feature", {"lib.py": _module("f", 3) + "\n\n" + _module("g", 200)})
    repo.clock += 3600
    repo.git("revert", "--no-edit", big)
    doc = await replay(repo.path, jobs=1)
    feature, revert = doc["commits"][1], doc["commits"][2]
    assert feature["delta"] != 0
    assert abs(revert["delta"] + feature["delta"]) <= REVERT_TOLERANCE
    assert [r["code"] for r in revert["reasons"]] == ["revert"]
    assert sum(r["points"] for r in revert["reasons"]) == revert["delta"]


def test_possible_secrets_cost_a_point_each_at_most_two_and_never_poison() -> None:
    from app.analysis.secret_rules import SecretFinding
    from app.analysis.security import SecurityMetrics

    found = [SecretFinding("github_token", "tests/t.py", n, "ghp_…", "test") for n in (1, 2, 3)]
    one = _score(security=SecurityMetrics(possible_secrets=found[:1]))
    three = _score(security=SecurityMetrics(possible_secrets=found))
    assert [(r.code, r.points) for r in one.reasons] == [("possible_secret", -1)]
    assert [(r.code, r.points) for r in three.reasons] == [("possible_secret", -2)]
    assert "(test)" in three.reasons[0].detail and "2 more" in three.reasons[0].detail
    assert not three.poisoned and three.quality_score > 0


def test_heat_counts_only_earlier_fixes_of_the_files_changed() -> None:
    from app.analysis.hotspots import FixCounts, Heat, hotspot_reason, is_fix

    counts = FixCounts()
    assert counts.heat(["a.py"]) == Heat()
    counts.record("Add the parser", ["a.py"])  # not a fix: nothing counted
    counts.record("Fix a crash on empty input", ["a.py", "b.py"])
    counts.record("fixes #12: off by one", ["a.py", "a.py"])  # a path counts once per fix
    assert is_fix("Regression in 2.1") and not is_fix("Prefix the names")
    heat = counts.heat(["a.py", "b.py", "c.py"])
    assert heat == Heat(fixes=3, hottest="a.py", hottest_fixes=2)
    reason = hotspot_reason(heat)
    assert reason is not None and reason.code == "hotspot" and reason.points == -1
    assert "fixed 3 times before (most: a.py, 2)" in reason.detail
    assert hotspot_reason(Heat()) is None


def test_the_hotspot_penalty_is_capped() -> None:
    from app.analysis.hotspots import Heat, hotspot_reason
    from app.analysis.scoring import COMPLEXITY_WEIGHT, HOTSPOT_SIGNAL_CAP, round_points

    worst = -round_points(COMPLEXITY_WEIGHT * HOTSPOT_SIGNAL_CAP)
    for fixes in (100, 10_000):
        reason = hotspot_reason(Heat(fixes, "core.py", fixes))
        assert reason is not None and reason.points == worst


async def test_replay_charges_commits_that_touch_files_fixed_before(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "hot")
    repo.commit("start", {"core.py": _module("f", 3), "calm.py": _module("g", 3)})
    for n in range(6):
        repo.commit(f"Fix bug {n}", {"core.py": _module("f", 4 + n)})
    repo.commit("touch core", {"core.py": _module("f", 20)})
    repo.commit("touch calm", {"calm.py": _module("g", 20)})
    doc = await replay(repo.path, jobs=1)
    core, calm = doc["commits"][-2], doc["commits"][-1]
    hot = {r["code"]: r for r in core["reasons"]}
    assert hot["hotspot"]["points"] < 0 and "core.py, 6" in hot["hotspot"]["detail"]
    assert "hotspot" not in {r["code"] for r in calm["reasons"]}
    assert core["delta"] < calm["delta"]
    first_fix = doc["commits"][1]  # no fix came before it
    assert "hotspot" not in {r["code"] for r in first_fix["reasons"]}


async def test_replay_scores_an_exact_inverse_diff_as_a_revert(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "undo")
    base = _module("f", 3)
    repo.commit("start", {"lib.py": base})
    repo.commit("feature", {"lib.py": base + "\n\n" + _module("g", 150), "b.py": _module("h", 9)})
    repo.commit("take the feature out again", {"lib.py": base, "b.py": None})
    repo.commit("unrelated", {"lib.py": base + "\n\n" + _module("k", 2)})
    doc = await replay(repo.path, jobs=1)
    feature, undo, unrelated = doc["commits"][1:]
    assert [r["code"] for r in undo["reasons"]] == ["revert"]
    assert abs(undo["delta"] + feature["delta"]) <= REVERT_TOLERANCE
    assert "revert" not in {r["code"] for r in unrelated["reasons"]}


def test_signatures_match_a_change_and_its_inverse_only() -> None:
    a, b = _module("f", 3), _module("f", 5)
    forward = _analyse(change("x.py", a, b)).change
    backward = _analyse(change("x.py", b, a)).change
    other = _analyse(change("y.py", a, b)).change
    assert forward.inverse == backward.signature and backward.inverse == forward.signature
    assert forward.signature != backward.signature
    assert other.signature != forward.signature
    assert _analyse().change.signature == ""
