"""Reading git objects: one long-lived `git cat-file --batch-command` process per repository.

A round trip to git costs more than most objects, so many blobs or commit
objects are asked for in one request; commit objects are parsed here too.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta, timezone

from app.analysis.commit import CommitInfo, SourceError

_GIT_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


def git_env() -> dict[str, str]:
    """The environment for git, without variables that would point it at another repository."""
    env = {key: value for key, value in os.environ.items() if key not in _GIT_ENV_DROP}
    env["LC_ALL"] = "C"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def _person(value: str) -> tuple[str, str, datetime]:
    """Parse `Name <email> 1700000000 +0100` into name, email and aware datetime."""
    name, _, rest = value.partition(" <")
    email, _, stamp = rest.partition("> ")
    seconds, _, offset = stamp.strip().partition(" ")
    try:
        sign = -1 if offset.startswith("-") else 1
        delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])) * sign
        when = datetime.fromtimestamp(int(seconds), timezone(delta))
    except ValueError:
        when = datetime.fromtimestamp(0, UTC)
    return name, email, when


def parse_commit_object(sha: str, raw: bytes) -> CommitInfo:
    """Read a commit object's headers and message (continuation lines skipped)."""
    header, _, message = raw.partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in header.decode("utf-8", "replace").split("\n"):
        if line and not line.startswith(" "):
            key, _, value = line.partition(" ")
            fields.setdefault(key, []).append(value)
    author_name, author_email, _ = _person(fields.get("author", [""])[0])
    _, _, committed_at = _person(fields.get("committer", fields.get("author", [""]))[0])
    return CommitInfo(
        sha=sha,
        message=message.decode("utf-8", "replace"),
        author_name=author_name,
        author_email=author_email,
        committed_at=committed_at,
        parents=tuple(fields.get("parent", [])),
    )


class BatchReader:
    """One `git cat-file --batch-command` process, used one request at a time."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def _ensure(self) -> asyncio.subprocess.Process:
        """Start the process on first use (never again once closed)."""
        if self._closed:
            raise SourceError("the git source is closed")
        if self._process is None or self._process.returncode is not None:
            self._process = await asyncio.create_subprocess_exec(
                "git", "-C", self._path, "cat-file", "--batch-command",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, env=git_env(),
            )  # fmt: skip
        return self._process

    async def _ask(self, command: str, rev: str) -> tuple[str, int, asyncio.StreamReader] | None:
        """Send one command; return (type, size, stdout) or None when the object is missing."""
        process = await self._ensure()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(f"{command} {rev}\n".encode())
        await process.stdin.drain()
        header = (await process.stdout.readline()).decode("utf-8", "replace").split()
        if len(header) != 3:
            return None
        return header[1], int(header[2]), process.stdout

    async def contents(self, rev: str) -> tuple[str, bytes] | None:
        """(type, bytes) of an object, or None when it does not exist."""
        async with self._lock:
            answer = await self._ask("contents", rev)
            if answer is None:
                return None
            kind, size, stdout = answer
            data = await stdout.readexactly(size + 1)
        return kind, data[:-1]

    async def objects(self, revs: list[str]) -> dict[str, tuple[str, bytes]]:
        """(type, bytes) of many objects in one round trip; missing ones are left out."""
        async with self._lock:
            process = await self._ensure()
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write("".join(f"contents {rev}\n" for rev in revs).encode())
            await process.stdin.drain()
            found = {}
            for rev in revs:
                header = (await process.stdout.readline()).split()
                if len(header) != 3:
                    continue  # "<rev> missing"
                data = await process.stdout.readexactly(int(header[2]) + 1)
                found[rev] = (header[1].decode(), data[:-1])
        return found

    async def blobs(self, shas: list[str], max_size: int) -> dict[str, bytes]:
        """Many blobs in two round trips: sizes first, then the contents of those within bounds.

        One request per blob through asyncio would cost more than git's own work.
        """
        async with self._lock:
            process = await self._ensure()
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write("".join(f"info {sha}\n" for sha in shas).encode())
            await process.stdin.drain()
            wanted = []
            for sha in shas:
                header = (await process.stdout.readline()).split()
                if len(header) == 3 and header[1] == b"blob" and int(header[2]) <= max_size:
                    wanted.append(sha)
            process.stdin.write("".join(f"contents {sha}\n" for sha in wanted).encode())
            await process.stdin.drain()
            found = {}
            for sha in wanted:
                size = int((await process.stdout.readline()).split()[2])
                found[sha] = (await process.stdout.readexactly(size + 1))[:-1]
        return found

    async def close(self) -> None:
        """Stop the process."""
        self._closed = True
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:
            process.kill()
            await process.wait()
