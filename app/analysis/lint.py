"""Run ruff on Python file versions, many at once, caching findings per blob.

One ruff process per commit lints every Python version not seen before; the
findings of a blob never change, so the next commit's "before" is free.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from app.analysis.parsing import BlobCache, blob_key

log = logging.getLogger(__name__)

RUFF_TIMEOUT_SECONDS = 60
# Fixed rules, so a repository's own config never changes a score. Our own line
# checks (length, trailing whitespace, tabs) replace ruff's to avoid counting twice.
RUFF_SELECT = "E,F,W,B"
RUFF_IGNORE = "E501,W291,W293,W191,E101"
SYNTAX_ERROR = "syntax-error"

Findings = tuple[tuple[int, str], ...]  # (1-based line, rule code)


@cache
def ruff_binary() -> str | None:
    """The ruff executable installed with the ruff package, or one on PATH."""
    try:
        from ruff._find_ruff import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


@cache
def scratch_root() -> str | None:
    """A memory-backed folder for ruff's input files when the system has one.

    Creating hundreds of small files on a VM's disk costs about a millisecond
    each, far more than ruff's own work on them; `/dev/shm` costs a few
    microseconds. None means the default temporary folder.
    """
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _parse_output(output: str, names: dict[str, str]) -> dict[str, list[tuple[int, str]]]:
    """Group ruff's JSON findings by the blob key each temp file stands for."""
    grouped: dict[str, list[tuple[int, str]]] = {key: [] for key in names.values()}
    for finding in json.loads(output or "[]"):
        key = names.get(str(finding.get("filename", "")).rsplit("/", 1)[-1])
        if key is None:
            continue
        row = int((finding.get("location") or {}).get("row", 0))
        grouped[key].append((row, finding.get("code") or SYNTAX_ERROR))
    return grouped


def _command(binary: str) -> list[str]:
    """The ruff command line: fixed rules, JSON out, no cache, current folder."""
    return [
        *(binary, "check", "--isolated", "--no-cache", "--exit-zero", "--quiet"),
        *("--output-format", "json", "--select", RUFF_SELECT, "--ignore", RUFF_IGNORE, "."),
    ]


class PendingLint:
    """One ruff process started in the background; `result` waits for it.

    Starting ruff first and collecting it last lets it run on another core while
    the rest of the commit is analysed.
    """

    def __init__(self, cache: BlobCache, versions: Sequence[tuple[str, bytes, str | None]]) -> None:
        self._cache = cache
        keyed = {blob_key(content, sha): (name, content) for name, content, sha in versions}
        self.found: dict[str, Findings] = {}
        for key in keyed:
            cached = cache.peek("ruff", key)
            if cached is not None:
                self.found[key] = cached
        self._names: dict[str, str] = {}
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.failed = False
        missing = {key: item for key, item in keyed.items() if key not in self.found}
        if missing:
            self._start(missing)

    def _start(self, missing: dict[str, tuple[str, bytes]]) -> None:
        """Write the versions to a temporary folder and start ruff on it."""
        binary = ruff_binary()
        if binary is None:
            self.failed = True
            return
        self._folder = tempfile.TemporaryDirectory(prefix="tamagitto-ruff-", dir=scratch_root())
        for index, (key, (name, content)) in enumerate(missing.items()):
            temp_name = f"f{index}{Path(name).suffix or '.py'}"
            Path(self._folder.name, temp_name).write_bytes(content)
            self._names[temp_name] = key
        try:
            self._process = subprocess.Popen(
                _command(binary), cwd=self._folder.name, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env={**os.environ, "RAYON_NUM_THREADS": "1"},
            )  # fmt: skip
        except OSError as error:
            log.warning("ruff failed to start: %s", type(error).__name__)
            self.failed = True

    def result(self) -> dict[str, Findings] | None:
        """Findings per blob key; None when ruff is missing or failed."""
        try:
            if self._process is not None:
                output, _ = self._process.communicate(timeout=RUFF_TIMEOUT_SECONDS)
                self._store(_parse_output(output.decode("utf-8", "replace"), self._names))
        except (OSError, subprocess.SubprocessError, ValueError) as error:
            log.warning("ruff failed: %s", type(error).__name__)
            self._kill()
            self.failed = True
        finally:
            if self._folder is not None:
                self._folder.cleanup()
        return None if self.failed else self.found

    def _store(self, grouped: dict[str, list[tuple[int, str]]]) -> None:
        """Keep fresh findings, in the cache too."""
        for key, found in grouped.items():
            findings = tuple(sorted(found))
            self._cache.put("ruff", key, findings)
            self.found[key] = findings

    def _kill(self) -> None:
        """Stop a ruff that overran its time."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
