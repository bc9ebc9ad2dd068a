"""The GitHub commit source against a fake GitHub on loopback, via gidgethub's aiohttp client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from gidgethub import GitHubBroken
from gidgethub.aiohttp import GitHubAPI

from app.analysis.engine import analyze_commit
from app.analysis.github import GitHubCommitSource
from tests.analysis.fake_github import HEAD, PARENT, FakeGitHub, git_sha
from tests.analysis.lang_cases import PYTHON

Factory = Callable[[FakeGitHub], Awaitable[GitHubCommitSource]]


@pytest.fixture
async def source_for(aiohttp_server: Any) -> AsyncIterator[Factory]:
    sessions: list[aiohttp.ClientSession] = []

    async def make(fake: FakeGitHub) -> GitHubCommitSource:
        server = await aiohttp_server(fake.app())
        session = aiohttp.ClientSession()
        sessions.append(session)
        gh = GitHubAPI(session, "tamagitto", base_url=str(server.make_url("")).rstrip("/"))
        return GitHubCommitSource(gh, "octo", "pets")

    yield make
    for session in sessions:
        await session.close()


def _fake() -> FakeGitHub:
    return FakeGitHub(
        parent={"grade.py": PYTHON.before.encode(), "logo.png": b"\x89PNG\0\1",
                "README.md": b"# Pets\n", "old/name.py": b"x = 1\n"},
        head={"grade.py": PYTHON.after.encode(), "logo.png": b"\x89PNG\0\2",
              "README.md": b"# Pets\n\nUsage.\n", "new/name.py": b"x = 1\ny = 2\n",
              "tests/test_grade.py": PYTHON.test.encode()},
        renames={"new/name.py": "old/name.py"},
    )  # fmt: skip


async def test_commit_metadata_and_files(source_for: Factory) -> None:
    source = await source_for(_fake())
    commit = await source.get_commit(HEAD)
    assert commit.info.sha == HEAD and commit.info.parents == (PARENT,)
    assert commit.info.committed_at == datetime(2025, 1, 2, 4, 5, 6, tzinfo=UTC)
    assert commit.info.message == "Improve grading"
    files = {f.path: f for f in commit.files}
    assert files["grade.py"].before == PYTHON.before.encode()
    assert files["grade.py"].after == PYTHON.after.encode()
    assert files["grade.py"].before_blob == git_sha(PYTHON.before.encode())
    assert files["new/name.py"].status == "renamed"
    assert files["new/name.py"].old_path == "old/name.py"
    assert files["new/name.py"].before == b"x = 1\n"
    assert files["tests/test_grade.py"].before is None
    assert files["logo.png"].patch is None and files["logo.png"].after is None


async def test_contents_are_fetched_only_for_deep_files(source_for: Factory) -> None:
    fake = _fake()
    source = await source_for(fake)
    await source.get_commit(HEAD)
    fetched = [r for r in fake.requests if "/commits/" not in r]
    assert not any("logo.png" in r or "README.md" in r for r in fetched)
    assert f"/repos/octo/pets/contents/grade.py?ref={PARENT}" in fetched
    assert f"/repos/octo/pets/contents/old/name.py?ref={PARENT}" in fetched
    assert not any("tests/test_grade.py?ref" in r for r in fetched)  # added: no "before"
    assert len(fetched) == 5  # 3 blobs ("after") and 2 contents ("before")


async def test_analysis_matches_the_local_figures(source_for: Factory) -> None:
    commit = await (await source_for(_fake())).get_commit(HEAD)
    result = analyze_commit(commit, run_ruff=False)
    assert result.complexity.complexity_increase == 5
    assert result.tests.test_functions_added == 2
    assert result.docs.doc_files_changed == ["README.md"]


async def test_a_missing_file_degrades_to_counts_and_server_errors_raise(
    source_for: Factory,
) -> None:
    gone = _fake()
    gone.contents_status["grade.py"] = 404
    commit = await (await source_for(gone)).get_commit(HEAD)
    grade = next(f for f in commit.files if f.path == "grade.py")
    assert (grade.status, grade.before, grade.after) == ("modified", None, PYTHON.after.encode())
    broken = _fake()
    broken.contents_status["grade.py"] = 502
    with pytest.raises(GitHubBroken):
        await (await source_for(broken)).get_commit(HEAD)
