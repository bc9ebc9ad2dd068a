"""Parse `git diff-tree --raw -p` output into changed files (no contents yet)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.analysis.commit import FileStatus

MAX_PATCH_CHARS = 1_000_000  # like GitHub, a larger patch is dropped and only counted
NULL_SHA = "0" * 40
GITLINK_MODE = "160000"
_STATUS: dict[str, FileStatus] = {"A": "added", "D": "removed", "R": "renamed", "C": "added"}
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f",
            "r": "\r", "v": "\v"}  # fmt: skip
_OCTAL = re.compile(rb"\\([0-7]{3})")


@dataclass(frozen=True)
class RawEntry:
    """One line of `--raw` output."""

    status: FileStatus
    path: str
    old_path: str | None
    old_blob: str | None
    new_blob: str | None
    is_gitlink: bool


def unquote_path(text: str) -> str:
    """Undo git's C-style quoting of unusual paths (`"a\\"b"`, octal UTF-8 bytes)."""
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        return text
    body = text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            out.append(_ESCAPES.get(body[index + 1], "\\" + body[index + 1]))
            index += 2
        else:
            out.append(char)
            index += 1
    joined = "".join(out).encode("utf-8", "surrogateescape")
    decoded = _OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), joined)
    return decoded.decode("utf-8", "replace")


def parse_raw_line(line: str) -> RawEntry | None:
    """`:100644 100644 <old> <new> M\\tpath` (and `R090\\told\\tnew`)."""
    head, _, paths = line[1:].partition("\t")
    fields = head.split()
    if len(fields) < 5 or not paths:
        return None
    old_mode, new_mode, old_sha, new_sha, code = fields[:5]
    names = [unquote_path(name) for name in paths.split("\t")]
    status = _STATUS.get(code[:1], "modified")
    old_path = names[0] if status == "renamed" and len(names) > 1 else None
    return RawEntry(
        status=status,
        path=names[-1],
        old_path=old_path,
        old_blob=None if old_sha == NULL_SHA else old_sha,
        new_blob=None if new_sha == NULL_SHA else new_sha,
        is_gitlink=GITLINK_MODE in (old_mode, new_mode),
    )


def split_output(text: str) -> tuple[list[RawEntry], list[str | None]]:
    """Raw entries, and the patch of each (None for binary or oversized ones), in order."""
    raw_part, _, patch_part = text.partition("\ndiff --git ")
    entries = [parse_raw_line(line) for line in raw_part.splitlines() if line.startswith(":")]
    sections = ("diff --git " + patch_part).split("\ndiff --git ") if patch_part else []
    return [e for e in entries if e is not None], [_patch_of(section) for section in sections]


def split_by_commit(text: str, shas: list[str]) -> dict[str, str]:
    """Cut `diff-tree --stdin` output into each commit's part, in the order asked.

    A part starts with a line that is exactly the next expected sha; no raw or
    patch line can be one (they start with `:`, `diff`, `@@`, `+`…).
    """
    headers: list[tuple[str, int, int]] = []  # (sha, header start, body start)
    cursor = 0
    for sha in shas:
        if cursor == 0 and text.startswith(sha + "\n"):
            start = 0
        else:
            start = text.find(f"\n{sha}\n", max(cursor - 1, 0))
            if start < 0:
                continue
            start += 1
        cursor = start + len(sha) + 1
        headers.append((sha, start, cursor))
    ends = [start for _, start, _ in headers[1:]] + [len(text)]
    return {sha: text[body:end] for (sha, _, body), end in zip(headers, ends, strict=True)}


def _patch_of(section: str) -> str | None:
    """The hunks of one file's section; None when git said the file is binary."""
    start = section.find("\n@@")
    if start < 0:
        binary = "\nBinary files " in section or "\nGIT binary patch" in section
        return None if binary else ""
    return section[start + 1 :].removesuffix("\n")  # like GitHub: no final newline


def parse_numstat_z(output: bytes) -> list[tuple[int, int]]:
    """`diff-tree --numstat -z` as (additions, deletions) per file, in diff order.

    A binary file (`-`) counts zero, like on GitHub. A rename's record is
    `A\tD\t` followed by its two names, each its own NUL-ended field.
    """
    fields = output.split(b"\0")
    found: list[tuple[int, int]] = []
    index = 0
    while index < len(fields):
        head = fields[index]
        index += 1
        parts = head.split(b"\t", 2)
        if len(parts) != 3:
            continue  # the empty field after the last NUL
        if not parts[2]:
            index += 2  # a rename or copy: old and new names follow
        added, deleted = parts[0], parts[1]
        found.append(
            (int(added) if added.isdigit() else 0, int(deleted) if deleted.isdigit() else 0)
        )
    return found


def _number(field: bytes) -> int:
    """A numstat count; `-` (binary) is zero."""
    return int(field) if field.isdigit() else 0


def counts(patch: str | None) -> tuple[int, int]:
    """(additions, deletions) of a patch; a binary file counts zero like on GitHub.

    The patch starts at its first hunk, so every line opening with `+` or `-`
    is a changed line (the `---`/`+++` headers come before it).
    """
    if not patch:
        return 0, 0
    added = patch.count("\n+") + patch.startswith("+")
    return added, patch.count("\n-") + patch.startswith("-")


def bounded(patch: str | None) -> str | None:
    """The patch, or None when it is too large to analyse (its counts are kept apart)."""
    return None if patch is None or len(patch) > MAX_PATCH_CHARS else patch
