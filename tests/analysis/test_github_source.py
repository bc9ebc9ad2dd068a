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
from tests.analysis.lang_cases import PYTHON
from tests.fakes.github import FakeGitHub, git_blob_sha

Factory = Callable[[FakeGitHub], Awaitable[GitHubCommitSource]]
PARENT, HEAD = "1" * 40, "2" * 40
INSTALLATION = 77


@pytest.fixture
async def source_for(aiohttp_server: Any) -> AsyncIterator[Factory]:
    """Serve a prepared fake and read it through a source holding an installation token."""
    sessions: list[aiohttp.ClientSession] = []
    fakes: list[FakeGitHub] = []

    async def make(fake: FakeGitHub) -> GitHubCommitSource:
        server = await aiohttp_server(fake.make_app())
        fake.url = str(server.make_url("")).rstrip("/")
        fakes.append(fake)
        session = aiohttp.ClientSession()
        sessions.append(session)
        token = fake.issue_token(INSTALLATION)
        gh = GitHubAPI(session, "tamagitto", oauth_token=token, base_url=fake.url)
        return GitHubCommitSource(gh, "octo", "pets")

    yield make
    for session in sessions:
        await session.close()
    for fake in fakes:
        assert fake.errors == [], f"requests GitHub's OpenAPI description rejects: {fake.errors}"


def _fake() -> FakeGitHub:
    """One commit over five files: Python, a binary, docs, a rename, and a new test file."""
    fake = FakeGitHub()
    fake.add_installation(INSTALLATION, "octo")
    fake.add_repo("octo/pets", installation_id=INSTALLATION)
    fake.add_change(
        "octo/pets",
        HEAD,
        PARENT,
        {
            "grade.py": (PYTHON.before.encode(), PYTHON.after.encode()),
            "logo.png": (b"\x89PNG\0\1", b"\x89PNG\0\2"),
            "README.md": (b"# Pets\n", b"# Pets\n\nUsage.\n"),
            "new/name.py": (b"x = 1\n", b"x = 1\ny = 2\n"),
            "tests/test_grade.py": (None, PYTHON.test.encode()),
        },
        renames={"new/name.py": "old/name.py"},
        message="Improve grading",
        author_date="2025-01-02T03:04:05Z",
        date="2025-01-02T04:05:06Z",
    )
    return fake


def _requested(fake: FakeGitHub) -> list[str]:
    """Every request's path; a contents request as `path?ref=…` (which revision it read)."""
    return [
        f"{r.path}?ref={r.query.get('ref')}" if "/contents/" in r.path else r.path
        for r in fake.requests
    ]


async def test_commit_metadata_and_files(source_for: Factory) -> None:
    source = await source_for(_fake())
    commit = await source.get_commit(HEAD)
    assert commit.info.sha == HEAD and commit.info.parents == (PARENT,)
    assert commit.info.committed_at == datetime(2025, 1, 2, 4, 5, 6, tzinfo=UTC)
    assert commit.info.message == "Improve grading"
    files = {f.path: f for f in commit.files}
    assert files["grade.py"].before == PYTHON.before.encode()
    assert files["grade.py"].after == PYTHON.after.encode()
    assert files["grade.py"].before_blob == git_blob_sha(PYTHON.before.encode())
    assert files["new/name.py"].status == "renamed"
    assert files["new/name.py"].old_path == "old/name.py"
    assert files["new/name.py"].before == b"x = 1\n"
    assert files["tests/test_grade.py"].before is None
    assert files["logo.png"].patch is None and files["logo.png"].after is None


async def test_contents_are_fetched_only_for_deep_files(source_for: Factory) -> None:
    fake = _fake()
    source = await source_for(fake)
    await source.get_commit(HEAD)
    fetched = [r for r in _requested(fake) if "/commits/" not in r]
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
    gone.fail("GET", r"/contents/grade\.py$", 404)
    commit = await (await source_for(gone)).get_commit(HEAD)
    grade = next(f for f in commit.files if f.path == "grade.py")
    assert (grade.status, grade.before, grade.after) == ("modified", None, PYTHON.after.encode())
    broken = _fake()
    broken.fail("GET", r"/contents/grade\.py$", 502)
    with pytest.raises(GitHubBroken):
        await (await source_for(broken)).get_commit(HEAD)
