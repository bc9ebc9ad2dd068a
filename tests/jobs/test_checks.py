"""The pure parts of check runs: where results go, batches, annotations, titles, conclusions."""

from __future__ import annotations

from app.jobs import check_output
from app.jobs.annotations import annotations_for, head_findings, level
from app.jobs.checks import MAX_TEXT, batches, fit_text, report_modes
from app.jobs.forecast import CommitForecast, Forecast
from app.jobs.repo_config import RepoConfig

GRANTED = {"checks": "write", "statuses": "write"}
LEGACY = {"statuses": "write"}


def test_report_modes_follow_the_config_and_the_installation() -> None:
    assert report_modes(RepoConfig(), GRANTED) == {"checks"}
    assert report_modes(RepoConfig(), LEGACY) == {"status"}
    assert report_modes(RepoConfig(report="both"), GRANTED) == {"checks", "status"}
    assert report_modes(RepoConfig(report="status"), GRANTED) == {"status"}
    # check runs asked for but not granted: statuses keep working
    assert report_modes(RepoConfig(report="checks"), LEGACY) == {"status"}
    assert report_modes(RepoConfig(report="both"), LEGACY) == {"status"}


def test_batches_of_fifty() -> None:
    items = [{"n": i} for i in range(120)]
    assert [len(b) for b in batches(items)] == [50, 50, 20]
    assert batches([]) == [[]]
    assert len(fit_text("x" * (MAX_TEXT + 10))) == MAX_TEXT


def finding(path: str, line: int, kind: str, points: float, title: str = "t") -> dict[str, object]:
    return {"path": path, "line": line, "end_line": line, "kind": kind, "title": title,
            "message": "m", "points": points}  # fmt: skip


def test_annotations_ordered_by_points_and_capped() -> None:
    found = [finding("a.py", 3, "lint", 0.5), finding("b.py", 9, "secret", 15.0),
             finding("a.py", 1, "burden", 2.0), finding("a.py", 1, "burden", 2.0)]  # fmt: skip
    made = annotations_for(found, 2)
    assert [(a["path"], a["annotation_level"]) for a in made] == [
        ("b.py", "warning"),
        ("a.py", "warning"),
    ]
    assert len(annotations_for(found, 50)) == 3  # the duplicate counts once
    assert annotations_for(found, 0) == []
    assert level("possible_secret") == level("lint") == "notice"


def test_head_findings_keep_the_last_commit_per_file() -> None:
    first = (
        frozenset({"a.py", "b.py"}),
        [finding("a.py", 1, "lint", 1), finding("b.py", 2, "lint", 1)],
    )
    second = (frozenset({"a.py"}), [finding("a.py", 5, "lint", 1)])
    kept = head_findings([first, second])
    assert [(f["path"], f["line"]) for f in kept] == [("b.py", 2), ("a.py", 5)]


def forecast(before: int, after: int, secret: bool = False, dead: bool = False) -> Forecast:
    line = CommitForecast(
        "a" * 40, "title | with pipe", after - before, after - before, (), False, secret
    )
    return Forecast("Mochi", "🐱", before, after, dead, (line,), (), ())


def test_title_and_conclusions() -> None:
    assert check_output.forecast_title(forecast(72, 65)) == "🐱 Mochi: 72 → 65 if merged (−7)"
    assert check_output.forecast_title(forecast(60, 64)) == "🐱 Mochi: 60 → 64 if merged (+4)"
    plain = RepoConfig()
    assert check_output.forecast_conclusion(forecast(72, 65), plain) == "neutral"
    assert check_output.forecast_conclusion(forecast(60, 64), plain) == "success"
    gate = RepoConfig(fail_below=70)
    assert check_output.forecast_conclusion(forecast(72, 65), gate) == "failure"
    assert check_output.forecast_conclusion(forecast(80, 80, secret=True), plain) == "failure"
    assert check_output.forecast_conclusion(forecast(0, 0, dead=True), gate) == "neutral"


def test_summary_escapes_commit_titles() -> None:
    summary = check_output.forecast_summary(
        forecast(70, 72), RepoConfig(), "main", "http://x/pets/o/r", "https://github.com/o/r/commit"
    )
    assert "title \\| with pipe" in summary
    assert "[`aaaaaaa`](https://github.com/o/r/commit/" + "a" * 40 + ")" in summary
