"""`tamagitto replay` shows who would have earned what (issue 18): credit with co-authors,
achievements at the commits that earned them, the caretakers at the end."""

from __future__ import annotations

from pathlib import Path

from app.entities import credit
from app.jobs.replay import replay
from app.jobs.replay_text import format_timeline
from tests.analysis.helpers import GitRepo
from tests.analysis.test_replay import BASE, TESTS

ADA = credit.person("Ada", "ada@example.com")
BOB = credit.person("Bob", "bob@example.com")


def commit_as(repo: GitRepo, author: str, message: str, files: dict[str, str]) -> str:
    repo.clock += 86400
    for relative, content in files.items():
        repo.write(relative, content)
        repo.git("add", relative)
    repo.git("commit", "-q", "--allow-empty", "--author", author, "-m", message)
    return repo.git("rev-parse", "HEAD").strip()


async def test_replay_credits_co_authors_and_grants_once(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "pets")
    first = repo.commit("Add shapes", {"shapes.py": BASE})
    paired = commit_as(
        repo,
        "Bob <bob@example.com>",
        "Add tests\n\nCo-authored-by: Ada <ada@example.com>",
        {"test_shapes.py": TESTS},
    )
    repo.commit("Docs", {"README.md": "# Shapes\n\nArea of rectangles.\n"})
    doc = await replay(repo.path, jobs=1)
    earned = {(a["person"]["key"], a["code"]): a["sha"] for a in doc["achievements"]}
    assert earned[(ADA.key, "first_commit")] == first
    assert earned[(BOB.key, "first_commit")] == paired
    assert earned[(BOB.key, "first_test")] == paired and earned[(ADA.key, "first_test")] == paired
    assert list(earned).count((ADA.key, "first_commit")) == 1
    everyone = {c["person"]["key"]: c for c in doc["caretakers"]["all_time"]}
    assert everyone[ADA.key]["commits"] == 3 and everyone[BOB.key]["commits"] == 1
    total = sum(c["net"] for c in everyone.values())
    assert total == sum(entry["delta"] for entry in doc["commits"])
    assert doc["caretakers"]["streak"]["current"] >= 1
    text = format_timeline(doc)
    assert "★" in text and "Bob earned First test" in text
    assert "caretakers: Ada" in text or "caretakers: Bob" in text
    assert "ada@example.com" not in text
