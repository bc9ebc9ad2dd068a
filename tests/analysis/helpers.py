"""Builders for commits, changed files and throwaway git repositories."""

from __future__ import annotations

import difflib
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from app.analysis.commit import ChangedFile, Commit, CommitInfo

WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def make_patch(before: str, after: str) -> str:
    """A unified diff of two texts, hunks only, as GitHub's ``patch`` field has it."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), n=3
    )
    body = [line if line.endswith("\n") else line + "\n" for line in list(lines)[2:]]
    return "".join(body)


def change(
    path: str, before: str | None, after: str | None, *, status: str | None = None
) -> ChangedFile:
    """A changed file with patch, counts and both contents, like a source would build it."""
    patch = make_patch(before or "", after or "")
    added = sum(1 for line in patch.split("\n") if line.startswith("+"))
    removed = sum(1 for line in patch.split("\n") if line.startswith("-"))
    inferred = "added" if before is None else "removed" if after is None else "modified"
    return ChangedFile(
        path=path,
        status=status or inferred,  # type: ignore[arg-type]
        additions=added,
        deletions=removed,
        patch=patch,
        before=None if before is None else before.encode(),
        after=None if after is None else after.encode(),
    )


def commit_of(*files: ChangedFile, sha: str = "a" * 40, message: str = "change") -> Commit:
    """A commit holding the given files."""
    info = CommitInfo(sha, message, "Ada", "ada@example.com", WHEN, ("b" * 40,))
    return Commit(info, list(files))


class GitRepo:
    """A throwaway repository with deterministic authors and dates."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        self.clock = 1_700_000_000
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)

    def git(self, *args: str) -> str:
        """Run git in the repository and return its output."""
        stamp = f"{self.clock} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        for role in ("AUTHOR", "COMMITTER"):
            env[f"GIT_{role}_NAME"], env[f"GIT_{role}_EMAIL"] = "Ada", "ada@example.com"
        for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            env.pop(key, None)
        result = subprocess.run(
            ["git", "-C", str(self.path), *args], env=env, capture_output=True, check=True
        )
        return result.stdout.decode()

    def write(self, relative: str, content: str | bytes) -> None:
        """Write a file in the work tree."""
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content)
        else:
            target.write_bytes(content)

    def commit(self, message: str, files: dict[str, str | bytes | None], days: float = 1) -> str:
        """Write (or delete, for None) files and commit them ``days`` after the previous commit."""
        self.clock += int(days * 86400)
        for relative, content in files.items():
            if content is None:
                self.git("rm", "-q", relative)
            else:
                self.write(relative, content)
                self.git("add", relative)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()
