"""Run ruff on Python file versions, many at once, caching findings per blob.

One ruff process per commit lints every Python version not seen before; the
findings of a blob never change, so the next commit's "before" is free.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
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


def ruff_binary() -> str | None:
    """The ruff executable installed with the ruff package, or one on PATH."""
    try:
        from ruff._find_ruff import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


def _parse_output(output: str, names: dict[str, str]) -> dict[str, list[tuple[int, str]]]:
    """Group ruff's JSON findings by the blob key each temp file stands for."""
    grouped: dict[str, list[tuple[int, str]]] = {key: [] for key in names.values()}
    for finding in json.loads(output or "[]"):
        key = names.get(Path(finding.get("filename", "")).name)
        if key is None:
            continue
        row = int((finding.get("location") or {}).get("row", 0))
        grouped[key].append((row, finding.get("code") or SYNTAX_ERROR))
    return grouped


def _run_ruff(binary: str, folder: Path) -> str:
    """Run ruff over a folder and return its JSON output."""
    command = [
        *(binary, "check", "--isolated", "--no-cache", "--exit-zero", "--quiet"),
        *("--output-format", "json", "--select", RUFF_SELECT, "--ignore", RUFF_IGNORE, "."),
    ]
    completed = subprocess.run(
        command, cwd=folder, capture_output=True, timeout=RUFF_TIMEOUT_SECONDS, check=False
    )
    return completed.stdout.decode("utf-8", "replace")


def lint_many(blobs: dict[str, tuple[str, bytes]]) -> dict[str, Findings] | None:
    """Lint {key: (file name, content)}; None when ruff is missing or fails."""
    binary = ruff_binary()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="tamagitto-ruff-") as tmp:
        folder = Path(tmp)
        names: dict[str, str] = {}
        for index, (key, (name, content)) in enumerate(blobs.items()):
            temp_name = f"f{index}{Path(name).suffix or '.py'}"
            (folder / temp_name).write_bytes(content)
            names[temp_name] = key
        try:
            grouped = _parse_output(_run_ruff(binary, folder), names)
        except (OSError, subprocess.SubprocessError, ValueError) as error:
            log.warning("ruff failed: %s", type(error).__name__)
            return None
    return {key: tuple(sorted(found)) for key, found in grouped.items()}


def lint_versions(
    cache: BlobCache, versions: Sequence[tuple[str, bytes, str | None]]
) -> dict[str, Findings] | None:
    """Findings per blob key of each (file name, content, blob sha); None when ruff fails.

    Ruff runs once, over the versions not already in the cache.
    """
    keyed = {blob_key(content, sha): (name, content) for name, content, sha in versions}
    found: dict[str, Findings] = {}
    for key in keyed:
        cached = cache.peek("ruff", key)
        if cached is not None:
            found[key] = cached
    missing = {key: item for key, item in keyed.items() if key not in found}
    fresh = lint_many(missing) if missing else {}
    if fresh is None:
        return None
    for key, findings in fresh.items():
        cache.put("ruff", key, findings)
        found[key] = findings
    return found
