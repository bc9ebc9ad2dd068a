"""`tamagitto replay` follows `decay:` in .github/tamagitto.yml at the replayed head."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from app.entities import rules
from app.jobs.replay import replay
from tests.analysis.helpers import GitRepo

BASE = '"""Shapes."""\n\n\ndef area(width, height):\n    """Area."""\n    return width * height\n'


def _quiet(tmp_path: Path, config: str | None) -> GitRepo:
    """Two commits 70 days apart; the second (the head) carries the config, if any."""
    repo = GitRepo(tmp_path / "quiet")
    repo.commit("base", {"shapes.py": BASE})
    files = {"notes.txt": "hello\n"}
    if config is not None:
        files[".github/tamagitto.yml"] = config
    repo.commit("back", files, days=70)
    return repo


def _kinds(doc: dict[str, object]) -> list[tuple[str, datetime]]:
    events = doc["events"]
    assert isinstance(events, list)
    return [(e["kind"], datetime.fromisoformat(e["at"])) for e in events]


async def test_without_a_config_the_seeds_decay_kills_the_pet(tmp_path: Path) -> None:
    """70 quiet days at 2 a day after 3 days of grace: hungry, then dead."""
    _quiet(tmp_path, None)
    doc = await replay(tmp_path / "quiet")
    assert [k for k, _ in _kinds(doc)] == ["birth", "hungry", "death", "revival"]


async def test_decay_off_at_head_means_no_hunger_and_no_death(tmp_path: Path) -> None:
    """The same history with `decay: off`: the pet just waits."""
    _quiet(tmp_path, "decay: off\n")
    doc = await replay(tmp_path / "quiet")
    assert [k for k, _ in _kinds(doc)] == ["birth"]
    assert doc["commits"][1]["health"] == doc["commits"][0]["health"] + doc["commits"][1]["applied"]
    assert doc["pet"]["generation"] == 1


async def test_own_grace_and_rate_at_head(tmp_path: Path) -> None:
    """14 days of grace at 1 a day: hungry on day 14, and 56 days charged by the second commit."""
    _quiet(tmp_path, "decay: {grace_days: 14, per_day: 1}\n")
    doc = await replay(tmp_path / "quiet")
    (born, _), (hungry, at) = _kinds(doc)
    assert (born, hungry) == ("birth", "hungry")
    first, second = doc["commits"]
    assert at == datetime.fromisoformat(first["committed_at"]) + 14 * rules.DAY
    assert second["health"] - second["applied"] == first["health"] - 56


async def test_an_invalid_config_keeps_the_seeds_decay(tmp_path: Path) -> None:
    """`decay: {per_day: 99}` is an error, so the defaults apply, as in production."""
    _quiet(tmp_path, "decay: {per_day: 99}\n")
    doc = await replay(tmp_path / "quiet")
    assert [k for k, _ in _kinds(doc)] == ["birth", "hungry", "death", "revival"]
