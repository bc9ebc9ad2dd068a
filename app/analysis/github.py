"""A commit source over the GitHub REST API, through any `gidgethub.abc.GitHubAPI`.

`GET /repos/{o}/{r}/commits/{sha}` gives the files with their patches; the
full contents of both revisions are fetched only for the files analysed
deeply: the "after" by blob sha (immutable, so cacheable), the "before" through
the contents API at the first parent. Token handling is the caller's job.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gidgethub import BadRequest, RateLimitExceeded
from gidgethub.abc import GitHubAPI

from app.analysis.commit import FILE_STATUSES, ChangedFile, Commit, CommitInfo, FileStatus
from app.analysis.files import deep_paths
from app.analysis.paths import MAX_DEEP_BYTES

MAX_CONCURRENT_FETCHES = 8
_STATUS_ALIASES: dict[str, FileStatus] = {"copied": "added", "changed": "modified"}


def _parse_time(value: str | None) -> datetime:
    """GitHub's ISO 8601 timestamps (`2024-01-02T03:04:05Z`) as aware datetimes."""
    if not value:
        return datetime.fromtimestamp(0, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def commit_info(data: dict[str, Any]) -> CommitInfo:
    """The metadata part of a commit response."""
    detail = data.get("commit") or {}
    author = detail.get("author") or {}
    committer = detail.get("committer") or author
    return CommitInfo(
        sha=data.get("sha", ""),
        message=detail.get("message", ""),
        author_name=author.get("name", ""),
        author_email=author.get("email", ""),
        committed_at=_parse_time(committer.get("date")),
        parents=tuple(parent.get("sha", "") for parent in data.get("parents") or []),
    )


def _status(value: str | None) -> FileStatus:
    """GitHub's file status mapped onto ours (copied → added, changed → modified)."""
    if value in FILE_STATUSES:
        return value
    return _STATUS_ALIASES.get(value or "", "modified")


def changed_file(entry: dict[str, Any]) -> ChangedFile:
    """One `files[]` entry, without contents."""
    status = _status(entry.get("status"))
    return ChangedFile(
        path=entry.get("filename", ""),
        old_path=entry.get("previous_filename"),
        status=status,
        additions=int(entry.get("additions") or 0),
        deletions=int(entry.get("deletions") or 0),
        patch=entry.get("patch"),
        after_blob=None if status == "removed" else entry.get("sha"),
    )


def decode_content(data: Any) -> bytes | None:
    """The bytes of a blob or contents response; None when too large or not base64."""
    if not isinstance(data, dict) or data.get("encoding") != "base64":
        return None
    if int(data.get("size") or 0) > MAX_DEEP_BYTES:
        return None
    try:
        return base64.b64decode(data.get("content") or "", validate=False)
    except (binascii.Error, ValueError):
        return None


class GitHubCommitSource:
    """Commits of one repository, read through the GitHub REST API."""

    def __init__(self, gh: GitHubAPI, owner: str, repo: str) -> None:
        self.gh = gh
        self.owner = owner
        self.repo = repo
        self._limit = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)

    async def get_commit(self, sha: str) -> Commit:
        """The commit with its files; contents only for the files analysed deeply."""
        data = await self.gh.getitem(
            "/repos/{owner}/{repo}/commits/{sha}",
            url_vars={"owner": self.owner, "repo": self.repo, "sha": sha},
        )
        info = commit_info(data)
        files = [changed_file(entry) for entry in data.get("files") or []]
        deep = deep_paths(files)
        parent = info.parents[0] if info.parents else None
        fetched = await asyncio.gather(
            *(self._with_contents(f, parent) if f.path in deep else _same(f) for f in files)
        )
        return Commit(info, list(fetched))

    async def _with_contents(self, change: ChangedFile, parent: str | None) -> ChangedFile:
        """Attach both revisions' contents to one file."""
        after = await self.blob(change.after_blob) if change.status != "removed" else None
        before: tuple[bytes | None, str | None] = (None, None)
        if change.status != "added" and parent is not None:
            before = await self.contents(change.old_path or change.path, parent)
        return replace(change, after=after, before=before[0], before_blob=before[1])

    async def blob(self, sha: str | None) -> bytes | None:
        """A blob's bytes by sha, or None when missing, too large or unreadable."""
        if not sha:
            return None
        url_vars = {"owner": self.owner, "repo": self.repo, "sha": sha}
        data = await self._get("/repos/{owner}/{repo}/git/blobs/{sha}", url_vars)
        return decode_content(data)

    async def contents(self, path: str, ref: str) -> tuple[bytes | None, str | None]:
        """A file's bytes and blob sha at a revision (the contents API answers up to 1 MB)."""
        url = "/repos/{owner}/{repo}/contents/{+path}{?ref}"
        data = await self._get(
            url, {"owner": self.owner, "repo": self.repo, "path": path, "ref": ref}
        )
        sha = data.get("sha") if isinstance(data, dict) else None
        return decode_content(data), sha

    async def _get(self, url: str, url_vars: dict[str, str]) -> Any:
        """One GET, bounded in concurrency; a missing file (4xx) gives None, 5xx raises."""
        async with self._limit:
            try:
                return await self.gh.getitem(url, url_vars=url_vars)
            except RateLimitExceeded:
                raise  # the job should retry later, not analyse a thinner commit
            except BadRequest:
                return None


async def _same(change: ChangedFile) -> ChangedFile:
    """Leave a file as it is (keeps `gather` uniform)."""
    return change
