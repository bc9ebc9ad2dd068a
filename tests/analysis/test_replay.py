"""Replay over a repository built in the test, and the replay command."""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.cli import replay as replay_cli
from app.cli.replay import add_replay_parser, run_replay
from app.entities import rules
from app.entities.species import PLANT, pet_name, subspecies_for
from app.jobs.replay import replay, step_pet
from app.jobs.replay_text import MESSAGE_WIDTH, format_timeline, shorten, sparkline
from tests.analysis.helpers import WHEN, GitRepo
from tests.analysis.test_security import CASES

BASE = '''"""Shapes."""


def area(width, height):
    """Area of a rectangle."""
    return width * height
'''
TESTS = """from shapes import area


def test_area():
    assert area(2, 3) == 6


def test_area_zero():
    assert area(0, 3) == 0
    assert area(3, 0) == 0
"""
NESTED = (
    BASE
    + """

def route(a, b, c, d, e):
    for x in a:
        if x:
            while b:
                for y in c:
                    if y and d:
                        if e or y > 2:
                            return y
    return None
"""
)


def _build(tmp_path: Path) -> tuple[GitRepo, list[str]]:
    repo = GitRepo(tmp_path / "shapes")
    shas = [
        repo.commit("base", {"shapes.py": BASE}),
        repo.commit("add tests", {"test_shapes.py": TESTS}),
        repo.commit("oops", {"settings.py": CASES[0][1] + "\n"}),
        repo.commit("nested", {"shapes.py": NESTED}),
        repo.commit("later", {"notes.txt": "hello\n"}, days=10),
    ]
    return repo, shas


async def test_replay_gives_expected_signs_and_reasons(tmp_path: Path) -> None:
    _, shas = _build(tmp_path)
    doc = await replay(tmp_path / "shapes")
    commits = doc["commits"]
    assert [c["sha"] for c in commits] == shas
    codes = [{r["code"] for r in c["reasons"]} for c in commits]
    assert commits[1]["delta"] > 0 and "tests_added" in codes[1]
    assert commits[2]["delta"] < 0 and "secret_committed" in codes[2]
    assert commits[2]["metrics"]["poisoned"] is True
    assert commits[3]["delta"] < 0 and "complexity_added" in codes[3]
    worst = commits[3]["metrics"]["complexity"]["worst"]
    assert (worst["name"], worst["after"]["nesting"]) == ("route", 6)
    for commit in commits:
        assert sum(r["points"] for r in commit["reasons"]) == commit["delta"]
    assert CASES[0][2] not in json.dumps(doc)


async def test_health_follows_deltas_and_decay(tmp_path: Path) -> None:
    _, _ = _build(tmp_path)
    doc = await replay(tmp_path / "shapes")
    health = rules.MAX_HEALTH
    for index, commit in enumerate(doc["commits"]):
        decay = 2 * (10 - 3) if index == 4 else 0  # ten quiet days: seven charged after grace
        health = max(0, min(100, health - decay + commit["delta"]))
        assert commit["health"] == health
        assert commit["state"] == rules.health_state(health)
    assert doc["pet"]["health"] == health


async def test_document_shape(tmp_path: Path) -> None:
    _build(tmp_path)
    doc = await replay(tmp_path / "shapes", limit=2)
    assert set(doc) == {"repository", "root_commit", "pet", "commits", "events", "stats",
                        "achievements", "caretakers"}  # fmt: skip
    assert doc["repository"] == "shapes"
    assert set(doc["pet"]) == {"name", "species", "health", "state", "status", "generation"}
    assert doc["pet"]["species"] in {"succulent", "fern", "flower"}  # Python: a plant
    assert set(doc["commits"][0]) == {"sha", "committed_at", "message", "delta", "applied",
                                      "health", "state", "reasons", "metrics"}  # fmt: skip
    assert set(doc["events"][0]) == {"at", "kind", "detail", "generation", "health"}
    assert set(doc["stats"]) == {"commits", "seconds", "commits_per_second"}
    assert doc["stats"]["commits"] == 2 == len(doc["commits"])
    json.dumps(doc)


async def test_empty_repository_gives_a_pet_without_history(tmp_path: Path) -> None:
    GitRepo(tmp_path / "empty")
    doc = await replay(tmp_path / "empty")
    assert doc["commits"] == []
    assert doc["pet"]["health"] == 100 and doc["pet"]["generation"] == 1
    assert "no commits" in format_timeline(doc)


def test_a_dead_pet_is_revived_after_its_cooldown() -> None:
    pet = rules.PetState(health=0, status=rules.DEAD, generation=1, born_at=WHEN, died_at=WHEN)
    assert step_pet(pet, 5, WHEN + rules.COOLDOWN / 2).status == rules.DEAD
    revived = step_pet(pet, 5, WHEN + rules.COOLDOWN)
    assert (revived.generation, revived.health) == (2, 100)


def test_sparkline() -> None:
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert len(sparkline(list(range(101)) * 3, width=20)) == 20
    assert sparkline([]) == ""


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_replay_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["replay", *argv])


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_command_prints_json_and_progress_only_on_a_tty(tmp_path: Path) -> None:
    _build(tmp_path)
    out, err = io.StringIO(), _Tty()
    assert run_replay(_args(str(tmp_path / "shapes"), "--json"), stdout=out, stderr=err) == 0
    assert json.loads(out.getvalue())["stats"]["commits"] == 5
    assert "5/5 commits" in err.getvalue()
    out, plain_err = io.StringIO(), io.StringIO()
    assert (
        run_replay(_args(str(tmp_path / "shapes"), "--limit", "3"), stdout=out, stderr=plain_err)
        == 0
    )
    assert plain_err.getvalue() == ""
    text = out.getvalue()
    assert "3 commits" in text and "commits/s" in text and "health " in text


@pytest.mark.parametrize("extra", [[], ["--branch", "nope"]])
def test_command_errors_exit_two(tmp_path: Path, extra: list[str]) -> None:
    target = tmp_path / "plain"
    if extra:
        _build(tmp_path)
        target = tmp_path / "shapes"
    else:
        target.mkdir()
    out, err = io.StringIO(), io.StringIO()
    assert run_replay(_args(str(target), *extra), stdout=out, stderr=err) == 2
    assert out.getvalue() == ""
    assert ("not a git repository" if not extra else "unknown branch") in err.getvalue()


@pytest.mark.parametrize("option", ["--limit", "--jobs"])
def test_counts_must_be_positive(option: str) -> None:
    with pytest.raises(SystemExit):
        _args(".", option, "0")
    assert getattr(_args(".", option, "3"), option[2:]) == 3


def test_an_interrupted_replay_exits_130_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted(*args: object, **kwargs: object) -> dict[str, object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(replay_cli, "replay", interrupted)
    out, err = io.StringIO(), io.StringIO()
    assert run_replay(_args(str(tmp_path)), stdout=out, stderr=err) == 130
    assert err.getvalue().strip() == "tamagitto replay: interrupted" and out.getvalue() == ""


def _one_commit_repo(path: Path, docstring: str) -> GitRepo:
    repo = GitRepo(path)
    repo.commit("base", {"shapes.py": BASE.replace("Shapes.", docstring)})
    return repo


def _clone(source: Path, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(target)], check=True)
    return target


async def test_the_pet_comes_from_the_root_commit_not_the_folder(tmp_path: Path) -> None:
    first = _one_commit_repo(tmp_path / "a" / "repo", "Shapes.")
    first.commit("more", {"notes.txt": "hello\n"})
    _one_commit_repo(tmp_path / "b" / "repo", "Other shapes.")
    clone = _clone(first.path, tmp_path / "c" / "renamed")
    a, b, c = [await replay(p) for p in (first.path, tmp_path / "b" / "repo", clone)]
    assert a["repository"] == b["repository"] == "repo" and c["repository"] == "renamed"
    assert a["root_commit"] == a["commits"][0]["sha"] != b["root_commit"]
    assert (a["pet"]["name"], a["pet"]["species"]) != (b["pet"]["name"], b["pet"]["species"])
    assert (c["root_commit"], c["pet"]["name"], c["pet"]["species"]) == (
        a["root_commit"], a["pet"]["name"], a["pet"]["species"],
    )  # fmt: skip
    seed = int(a["root_commit"], 16)
    assert (a["pet"]["name"], a["pet"]["species"]) == (pet_name(seed), subspecies_for(PLANT, seed))
    newest = await replay(first.path, limit=1)  # the root is outside the replayed commits
    assert newest["commits"][0]["sha"] != a["root_commit"]
    assert (newest["root_commit"], newest["pet"]["name"]) == (a["root_commit"], a["pet"]["name"])


def _story(tmp_path: Path) -> GitRepo:
    """Born, hungry, dead before the second commit, revived at the third."""
    repo = GitRepo(tmp_path / "story")
    repo.commit("base\n\nThe body is not the title.", {"shapes.py": BASE})
    repo.commit("add tests while the pet is dead", {"test_shapes.py": TESTS}, days=55)
    repo.commit("x" * 80, {"notes.txt": "hello\n"}, days=5)
    return repo


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_events_tell_birth_hunger_death_and_revival_at_exact_times(tmp_path: Path) -> None:
    _story(tmp_path)
    doc = await replay(tmp_path / "story")
    first, dead, revived = doc["commits"]
    born = _at(first["committed_at"])
    hungry_at = born + rules.GRACE_DAYS * rules.DAY  # the decay clock starts at the commit
    zero_at = hungry_at + math.ceil(first["health"] / rules.DECAY_PER_DAY) * rules.DAY
    assert [(e["kind"], _at(e["at"]), e["generation"], e["health"]) for e in doc["events"]] == [
        ("birth", born, 1, 100),
        ("hungry", hungry_at, 1, first["health"]),
        ("death", zero_at + timedelta(hours=24), 1, 0),
        ("revival", _at(revived["committed_at"]), 2, 100),
    ]
    details = [e["detail"] for e in doc["events"]]
    assert details[1:] == [
        "3 days without a commit: hungry", "dead after 24 h at 0", "generation II hatched",
    ]  # fmt: skip
    assert _at(dead["committed_at"]) < zero_at + rules.DEATH_AFTER + rules.COOLDOWN
    assert (dead["state"], revived["health"]) == ("dead", 100 + revived["applied"])


async def test_applied_is_the_change_health_really_took(tmp_path: Path) -> None:
    _story(tmp_path)
    first, dead, revived = (await replay(tmp_path / "story"))["commits"]
    assert first["delta"] > 0 and first["applied"] == 0  # a newborn is already at 100
    assert dead["delta"] > 0 and dead["applied"] == 0 and dead["health"] == 0
    assert revived["applied"] == max(-100, min(0, revived["delta"]))


async def test_timeline_shows_messages_and_events_before_the_commit_they_precede(
    tmp_path: Path,
) -> None:
    _story(tmp_path)
    doc = await replay(tmp_path / "story")
    assert [c["message"] for c in doc["commits"]] == [
        "base", "add tests while the pet is dead", "x" * 80,
    ]  # fmt: skip
    lines = format_timeline(doc).splitlines()

    def where(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    assert where("generation I hatched") < where(" base ")
    assert where(" base ") < where("3 days without a commit: hungry")
    assert where("hungry") < where("dead after 24 h at 0") < where("add tests while")
    assert where("add tests while") < where("generation II hatched") < where("xxx")
    assert "The body" not in "\n".join(lines)
    assert "x" * (MESSAGE_WIDTH - 1) + "…" in lines[where("xxx")]
    assert "x" * MESSAGE_WIDTH not in lines[where("xxx")]


def test_shorten_cuts_long_messages_only() -> None:
    assert shorten("fix it") == "fix it"
    assert shorten("a" * MESSAGE_WIDTH) == "a" * MESSAGE_WIDTH
    assert shorten("word " * 20, width=12) == "word word…"  # between words
    assert shorten("a" * 30, width=12) == "a" * 11 + "…"  # no word ends: a hard cut


async def test_a_commit_dated_before_the_last_one_repeats_no_event(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "skewed")
    repo.commit("base", {"shapes.py": BASE})
    repo.commit("ten days later", {"notes.txt": "a\n"}, days=10)
    repo.commit("dated six days earlier", {"notes.txt": "b\n"}, days=-6)
    repo.commit("much later", {"notes.txt": "c\n"}, days=16)
    doc = await replay(repo.path)
    times = [_at(c["committed_at"]) for c in doc["commits"]]
    grace = rules.GRACE_DAYS * rules.DAY
    assert [(e["kind"], _at(e["at"])) for e in doc["events"]] == [
        ("birth", times[0]), ("hungry", times[0] + grace), ("hungry", times[1] + grace),
    ]  # fmt: skip
    lines = format_timeline(doc).splitlines()
    hungry = [i for i, line in enumerate(lines) if "hungry" in line]
    assert hungry[1] == next(i for i, line in enumerate(lines) if "much later" in line) - 1
