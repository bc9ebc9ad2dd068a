"""A commit source over a local git repository (work tree or bare), through git subprocesses.

Blobs and commit objects come from one long-lived `git cat-file --batch-command`
process (app/analysis/gitbatch.py); diffs from `git diff-tree`, one process for
many prefetched commits, and one per huge commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from app.analysis.commit import (
    ChangedFile,
    Commit,
    CommitInfo,
    NotAGitRepository,
    SourceError,
    UnknownRevision,
)
from app.analysis.files import deep_paths
from app.analysis.gitbatch import BatchReader, git_env, parse_commit_object
from app.analysis.gitdiff import (
    RawEntry,
    bounded,
    counts,
    parse_numstat_z,
    split_by_commit,
    split_output,
)
from app.analysis.paths import MAX_DEEP_BYTES

_DIFF_OPTIONS = (
    *("-c", "core.quotepath=false", "diff-tree", "-r", "-M", "--raw", "-p", "--no-abbrev"),
    *("--no-color", "--no-ext-diff", "--no-textconv"),
)
DIFF_ARGS = (*_DIFF_OPTIONS, "--no-commit-id")
# Counting a commit's files needs no content diff: trees only, no rename detection.
ENTRIES_STDIN_ARGS = ("diff-tree", "-r", "--raw", "--no-abbrev", "--stdin", "--always", "--root")
HUGE_RAW_ARGS = ("-c", "core.quotepath=false", "diff-tree", "-r", "-M", "--raw", "--no-abbrev",
                 "--no-commit-id")  # fmt: skip
HUGE_NUMSTAT_ARGS = ("diff-tree", "-r", "-M", "--numstat", "-z", "--no-commit-id")
# Like GitHub's commit API, only a huge commit's first files come with a patch; the others
# get their counts (from --numstat), so a vendoring commit does not load every line it adds.
MAX_PATCHED_FILES = 300
# Many commits in one process: each commit's output starts with a line holding its sha.
DIFF_STDIN_ARGS = (*_DIFF_OPTIONS, "--stdin", "--always", "--root")


# Raw entries, their patches (None: binary, or past MAX_PATCHED_FILES) and, for huge
# commits, each file's (additions, deletions) from --numstat.
_Diff = tuple[list[RawEntry], list[str | None], list[tuple[int, int]] | None]


class LocalGitSource:
    """Commits of a local repository, for replay and for tests."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(Path(path).expanduser())
        self._batch = BatchReader(self.path)
        self._prefetched: dict[str, tuple[CommitInfo, _Diff]] = {}

    async def __aenter__(self) -> LocalGitSource:
        """Check the repository on entry."""
        await self.check()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the git processes."""
        await self.close()

    async def close(self) -> None:
        """Stop the long-lived `cat-file` process."""
        await self._batch.close()

    async def git(self, *args: str, stdin: bytes | None = None) -> bytes:
        """Run one git command in the repository; a failure raises `SourceError`."""
        process = await asyncio.create_subprocess_exec(
            "git", "-C", self.path, *args, env=git_env(),
            stdin=None if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await process.communicate(stdin)
        except BaseException:  # cancelled: stop git rather than leave it to a closed loop
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            raise SourceError(err.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
        return out

    async def check(self) -> None:
        """Raise `NotAGitRepository` unless the path is a git repository.

        git itself is asked first; the folder is looked at only to word the error
        (no thread on the happy path: replay forks its workers after this).
        """
        try:
            await self.git("rev-parse", "--git-dir")
        except (SourceError, OSError) as error:
            if not await asyncio.to_thread(os.path.isdir, self.path):
                raise NotAGitRepository(f"{self.path} is not a directory") from error
            raise NotAGitRepository(f"{self.path} is not a git repository") from error

    async def current_branch(self) -> str | None:
        """The branch HEAD points to (the default branch of a bare clone), if any."""
        try:
            return (await self.git("symbolic-ref", "--quiet", "--short", "HEAD")).decode().strip()
        except SourceError:
            return None

    async def resolve(self, rev: str) -> str | None:
        """The commit sha a revision names, or None when it names none."""
        try:
            out = await self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        except SourceError:
            return None
        return out.decode().strip() or None

    async def list_first_parent(
        self, branch: str | None = None, limit: int | None = None, since: str | None = None
    ) -> list[str]:
        """Shas along the first-parent chain of `branch` (default: HEAD), oldest first.

        An empty repository gives an empty list; a branch that does not exist
        raises `UnknownRevision`.
        """
        await self.check()
        rev = branch or "HEAD"
        head = await self.resolve(rev)
        if head is None:
            if await self._unborn(branch):
                return []
            raise UnknownRevision(f"unknown branch or revision: {rev}")
        args = ["rev-list", "--first-parent"]
        if limit is not None:
            args.append(f"--max-count={max(0, limit)}")
        if since:
            args.append(f"--since={since}")
        out = await self.git(*args, head)
        return list(reversed(out.decode().split()))

    async def _unborn(self, branch: str | None) -> bool:
        """True when the repository has no commit yet and `branch` is HEAD's own."""
        if await self.resolve("HEAD") is not None:
            return False
        refs = await self.git("for-each-ref", "--count=1", "refs/heads")
        return not refs.strip() and branch in (None, await self.current_branch())

    async def commit_info(self, sha: str) -> CommitInfo:
        """Metadata of one commit, from the batch process."""
        found = await self._batch.contents(sha)
        if found is None or found[0] != "commit":
            raise UnknownRevision(f"unknown commit: {sha}")
        full = await self.resolve(sha) if len(sha) != 40 else sha
        return parse_commit_object(full or sha, found[1])

    async def commit_infos(self, shas: list[str]) -> list[CommitInfo]:
        """Metadata of many commits in one request to the batch process."""
        found = await self._batch.objects(shas)
        infos = []
        for sha in shas:
            kind, raw = found.get(sha, ("missing", b""))
            if kind != "commit" or len(sha) != 40:
                infos.append(await self.commit_info(sha))  # short or unknown: resolved or refused
            else:
                infos.append(parse_commit_object(sha, raw))
        return infos

    async def prefetch(self, shas: list[str]) -> None:
        """Read the metadata and diffs of many commits with few git processes.

        A later `get_commits` of these shas takes them from memory; spawning
        one `diff-tree` per commit costs more than small commits' diffs. Commits
        with more than `MAX_PATCHED_FILES` files are read on their own (see
        `_huge_diff`).
        """
        infos = await self.commit_infos(shas)
        huge = await self._huge_commits(infos)
        usual = [info for info in infos if info.sha not in huge]
        if usual:
            request = "".join(_diff_request(info) for info in usual)
            output = await self.git(*DIFF_STDIN_ARGS, stdin=request.encode())
            sections = split_by_commit(output.decode("utf-8", "replace"), [i.sha for i in usual])
            for info in usual:
                entries, patches = split_output(sections.get(info.sha, ""))
                self._prefetched[info.sha] = (info, (entries, patches, None))
        for info in infos:
            if info.sha in huge:
                self._prefetched[info.sha] = (info, await self._huge_diff(info))

    async def _huge_commits(self, infos: list[CommitInfo]) -> set[str]:
        """The commits changing more than `MAX_PATCHED_FILES` files (a tree diff: cheap)."""
        request = "".join(_diff_request(info) for info in infos)
        output = await self.git(*ENTRIES_STDIN_ARGS, stdin=request.encode())
        sections = split_by_commit(output.decode("utf-8", "replace"), [i.sha for i in infos])
        return {
            sha for sha, text in sections.items() if text.count("\n:") + text.startswith(":")
            > MAX_PATCHED_FILES
        }  # fmt: skip

    async def _huge_diff(self, info: CommitInfo) -> _Diff:
        """Every file with its counts; patches for the first `MAX_PATCHED_FILES` only."""
        base = [info.parents[0], info.sha] if info.parents else ["--root", info.sha]
        raw = (await self.git(*HUGE_RAW_ARGS, *base)).decode("utf-8", "replace")
        entries, _ = split_output(raw)
        numbers = parse_numstat_z(await self.git(*HUGE_NUMSTAT_ARGS, *base))
        head = entries[:MAX_PATCHED_FILES]
        paths = dict.fromkeys(name for e in head for name in (e.old_path, e.path) if name)
        patched = await self.git("--literal-pathspecs", *DIFF_ARGS, *base, "--", *paths)
        found_entries, found_patches = split_output(patched.decode("utf-8", "replace"))
        found = {e.path: p for e, p in zip(found_entries, found_patches, strict=False)}
        patches = [found.get(e.path) if i < len(head) else None for i, e in enumerate(entries)]
        return entries, patches, numbers if len(numbers) == len(entries) else None

    async def get_commit(self, sha: str) -> Commit:
        """The commit with its files; contents only for the files analysed deeply."""
        return (await self.get_commits([sha]))[0]

    async def get_commits(self, shas: list[str]) -> list[Commit]:
        """Several commits: diffs of those not prefetched yet read together, then every
        content in one request (a round trip costs more than a small commit's blobs)."""
        missing = [sha for sha in dict.fromkeys(shas) if sha not in self._prefetched]
        if missing:
            await self.prefetch(missing)
        plans = [self._plan(sha) for sha in shas]
        wanted = sorted({blob for plan in plans for blob in plan.blobs()})
        contents = await self._batch.blobs(wanted, MAX_DEEP_BYTES) if wanted else {}
        return [plan.commit(contents) for plan in plans]

    def _plan(self, sha: str) -> _Plan:
        """A prefetched commit's files before their contents are read."""
        info, (entries, patches, numbers) = self._prefetched.pop(sha)
        shallow = [
            _changed_file(e, p, numbers[i] if numbers else None)
            for i, (e, p) in enumerate(zip(entries, patches, strict=False))
        ]
        return _Plan(info, shallow, entries, deep_paths(shallow))


@dataclass
class _Plan:
    """One commit's changed files, and which of them get their contents read."""

    info: CommitInfo
    shallow: list[ChangedFile]
    entries: list[RawEntry]
    deep: set[str]

    def _is_deep(self, change: ChangedFile, entry: RawEntry) -> bool:
        """Whether a file gets its contents (gitlinks have none to read)."""
        return change.path in self.deep and not entry.is_gitlink

    def blobs(self) -> set[str]:
        """The blob shas to read for this commit."""
        pairs = zip(self.shallow, self.entries, strict=False)
        return {
            blob
            for change, entry in pairs
            if self._is_deep(change, entry)
            for blob in (entry.old_blob, entry.new_blob)
            if blob
        }

    def commit(self, contents: dict[str, bytes]) -> Commit:
        """The commit, with the contents read for its deep files."""
        files = [
            replace(change, before=contents.get(entry.old_blob or ""),
                    after=contents.get(entry.new_blob or ""))
            if self._is_deep(change, entry)
            else change
            for change, entry in zip(self.shallow, self.entries, strict=False)
        ]  # fmt: skip
        return Commit(self.info, files)


def _diff_request(info: CommitInfo) -> str:
    """One line of `diff-tree --stdin` input: the commit and its first parent."""
    return f"{info.sha} {info.parents[0]}\n" if info.parents else f"{info.sha}\n"


def _changed_file(
    entry: RawEntry, patch: str | None, counted: tuple[int, int] | None = None
) -> ChangedFile:
    """A changed file with counts and patch, no contents yet."""
    additions, deletions = counted if counted is not None else counts(patch)
    return ChangedFile(
        path=entry.path,
        old_path=entry.old_path,
        status=entry.status,
        additions=additions,
        deletions=deletions,
        patch=bounded(patch),
        before_blob=entry.old_blob,
        after_blob=entry.new_blob,
    )
