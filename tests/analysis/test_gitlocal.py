"""The local git source, over repositories built in the test."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from app.analysis import gitlocal
from app.analysis.commit import NotAGitRepository, UnknownRevision
from app.analysis.gitdiff import parse_numstat_z, unquote_path
from app.analysis.gitlocal import LocalGitSource
from tests.analysis.helpers import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


async def test_files_statuses_counts_and_contents(repo: GitRepo) -> None:
    repo.commit("one", {"a.py": "x = 1\n", "logo.png": b"\x89PNG\0\1", "old.py": "v = 1\nw = 2\n"})
    sha = repo.commit("two", {"a.py": "x = 2\ny = 3\n", "logo.png": b"\x89PNG\0\2",
                              "old.py": None, "notes.md": "hi\n"})  # fmt: skip
    async with LocalGitSource(repo.path) as source:
        commit = await source.get_commit(sha)
    files = {f.path: f for f in commit.files}
    assert set(files) == {"a.py", "logo.png", "old.py", "notes.md"}
    a = files["a.py"]
    assert (a.status, a.additions, a.deletions) == ("modified", 2, 1)
    assert (a.before, a.after) == (b"x = 1\n", b"x = 2\ny = 3\n")
    assert a.patch is not None and "+y = 3" in a.patch
    assert files["logo.png"].patch is None and files["logo.png"].after is None
    assert (files["old.py"].status, files["old.py"].deletions) == ("removed", 2)
    assert files["notes.md"].after is None  # no grammar: the patch is enough
    assert commit.info.message == "two\n"
    assert (commit.info.author_name, commit.info.author_email) == ("Ada", "ada@example.com")


async def test_renames_unicode_and_quoted_paths(repo: GitRepo) -> None:
    body = "".join(f"line_{i} = {i}\n" for i in range(20))
    repo.commit("one", {"pkg/m.py": body})
    repo.git("mv", "pkg/m.py", "pkg/ünï.py")
    sha = repo.commit("two", {"pkg/ünï.py": body + "extra = 1\n", 'q"t.py': "z = 1\n"})
    async with LocalGitSource(repo.path) as source:
        commit = await source.get_commit(sha)
    files = {f.path: f for f in commit.files}
    renamed = files["pkg/ünï.py"]
    assert (renamed.status, renamed.old_path, renamed.additions) == ("renamed", "pkg/m.py", 1)
    assert renamed.before == body.encode()
    assert 'q"t.py' in files


async def test_root_commit_and_dates(repo: GitRepo) -> None:
    sha = repo.commit("root", {"a.go": "package a\n"})
    async with LocalGitSource(repo.path) as source:
        commit = await source.get_commit(sha)
    assert commit.info.parents == ()
    assert commit.files[0].status == "added"
    assert commit.info.committed_at.utcoffset() == timedelta(0)
    assert int(commit.info.committed_at.timestamp()) == repo.clock


async def test_first_parent_order_limit_since_and_merges(repo: GitRepo) -> None:
    first = repo.commit("one", {"a.py": "a = 1\n"})
    second = repo.commit("two", {"a.py": "a = 2\n"})
    repo.git("checkout", "-q", "-b", "topic")
    side = repo.commit("side", {"b.py": "b = 1\n"})
    repo.git("checkout", "-q", "main")
    repo.clock += 86400
    repo.git("merge", "-q", "--no-ff", "-m", "merge topic", "topic")
    merge = repo.git("rev-parse", "HEAD").strip()
    async with LocalGitSource(repo.path) as source:
        assert await source.list_first_parent() == [first, second, merge]
        assert await source.list_first_parent(limit=2) == [second, merge]
        assert await source.list_first_parent(branch="topic") == [first, second, side]
        assert await source.list_first_parent(since=f"@{repo.clock - 3600}") == [merge]
        merged = await source.get_commit(merge)
    assert [f.path for f in merged.files] == ["b.py"]


async def test_bare_clone_works(repo: GitRepo, tmp_path: Path) -> None:
    sha = repo.commit("one", {"a.py": "def f():\n    return 1\n"})
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", ".", str(bare))
    async with LocalGitSource(bare) as source:
        assert await source.list_first_parent() == [sha]
        commit = await source.get_commit(sha)
    assert commit.files[0].after == b"def f():\n    return 1\n"


async def test_errors_and_empty_repositories(tmp_path: Path, repo: GitRepo) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NotAGitRepository):
        await LocalGitSource(plain).list_first_parent()
    with pytest.raises(NotAGitRepository):
        await LocalGitSource(tmp_path / "missing").check()
    async with LocalGitSource(repo.path) as source:
        assert await source.list_first_parent() == []
        assert await source.list_first_parent(branch="main") == []
        with pytest.raises(UnknownRevision):
            await source.list_first_parent(branch="nope")
    repo.commit("one", {"a.py": "a = 1\n"})
    async with LocalGitSource(repo.path) as source:
        with pytest.raises(UnknownRevision):
            await source.list_first_parent(branch="nope")
        with pytest.raises(UnknownRevision):
            await source.get_commit("0" * 40)


async def test_huge_files_get_counts_only(repo: GitRepo) -> None:
    huge = "".join(f"value_{i} = {i}\n" for i in range(80_000))  # about 1.3 MB
    sha = repo.commit("big", {"big.py": huge})
    async with LocalGitSource(repo.path) as source:
        commit = await source.get_commit(sha)
    big = commit.files[0]
    assert (big.patch, big.after, big.additions) == (None, None, 80_000)


def test_unquote_path() -> None:
    assert unquote_path('"q\\"t.txt"') == 'q"t.txt'
    assert unquote_path('"\\303\\274.py"') == "ü.py"
    assert unquote_path("plain.py") == "plain.py"


def test_git_is_installed() -> None:
    assert shutil.which("git") is not None


async def test_prefetched_commits_equal_one_by_one(repo: GitRepo) -> None:
    repo.commit("root", {"a.py": "a = 1\n", "b.bin": b"\0\1"})
    repo.commit("empty", {})
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("side", {"c.py": "c = 1\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main work", {"a.py": "a = 2\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "merge", "topic")
    repo.commit("rename", {"a.py": None, "d/a.py": "a = 2\n", "e.py": "e = 1\n"})
    async with LocalGitSource(repo.path) as source:
        shas = await source.list_first_parent()
        one_by_one = [await source.get_commit(sha) for sha in shas]
        await source.prefetch(shas)
        batched = [await source.get_commit(sha) for sha in shas]
        assert source._prefetched == {}
    assert batched == one_by_one
    assert [len(c.files) for c in batched] == [2, 0, 1, 1, 2]


@pytest.mark.parametrize("root", [True, False])
async def test_a_huge_commit_gets_patches_for_its_first_files_only(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, root: bool
) -> None:
    if not root:
        repo.commit("base", {"keep/moved_from.py": "a = 1\nb = 2\nc = 3\n", "z.txt": "z\n"})
    files: dict[str, str | bytes | None] = {f"f{n:02}.py": f"v = {n}\n" * (n + 1) for n in range(9)}
    files["blob.bin"] = b"\0\1\2"
    files["z.txt"] = None if not root else "z\n"
    if not root:
        files["keep/moved_from.py"] = None
        files["keep/moved_to.py"] = "a = 1\nb = 2\nc = 3\n"
    sha = repo.commit("huge", files)
    async with LocalGitSource(repo.path) as source:
        whole = {f.path: f for f in (await source.get_commit(sha)).files}
    monkeypatch.setattr(gitlocal, "MAX_PATCHED_FILES", 4)
    async with LocalGitSource(repo.path) as source:
        capped = (await source.get_commit(sha)).files
    assert [f.path for f in capped] == list(whole)  # every file, in git's order
    for index, change in enumerate(capped):
        full = whole[change.path]
        assert (change.status, change.old_path) == (full.status, full.old_path)
        assert (change.additions, change.deletions) == (full.additions, full.deletions)
        if index < 4:
            assert (change.patch, change.before, change.after) == (
                full.patch,
                full.before,
                full.after,
            )
        else:
            assert change.patch is None and change.after is None
    assert whole["blob.bin"].additions == 0 and whole["f08.py"].additions == 9
    if not root:
        assert whole["keep/moved_to.py"].old_path == "keep/moved_from.py"


def test_numstat_records() -> None:
    output = b"3\t1\ta.py\x00-\t-\tlogo.png\x000\t0\t\x00old name.py\x00new name.py\x00"
    assert parse_numstat_z(output) == [(3, 1), (0, 0), (0, 0)]
