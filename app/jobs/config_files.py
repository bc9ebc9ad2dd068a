"""Where `.github/tamagitto.yml` comes from, the Probot way: the repository, else the owner's
`.github` repository, with `_extends` bases merged under the file's own keys.

`_extends: other-repo` names a repository of the same owner, `_extends: owner/repo` any
repository, and `_extends: owner/repo:path.yml` a file other than `.github/tamagitto.yml` in it
(as `probot/octokit-plugin-config` reads them). A base may extend another, up to
`MAX_EXTENDS` deep. Bases are read at their default branch; the repository's own file at the
analysed commit. Each blob is parsed once per sha, and the validated result is cached by the
shas of every blob it was built from, so an unchanged config costs no parsing at all. What a
default branch holds (the owner's `.github` file, bases, or their absence) is asked for at
most once a minute per installation: a repository without a file of its own then costs one
request per commit, not two, and an edit to an organization's file applies within a minute.
A file at a commit sha never changes, so it (or its absence) is asked for once: the push's
intake and the commit's job share the lookup.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass
from typing import Any

import yaml
from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from app.infra.github import LRUCache

CONFIG_PATH = ".github/tamagitto.yml"
ORG_CONFIG_REPO = ".github"
MAX_EXTENDS = 5
EXTENDS_KEY = "_extends"
# `repo`, `owner/repo`, either followed by `:path`.
_EXTENDS = re.compile(r"^(?:(?P<owner>[\w.-]+)/)?(?P<repo>[\w.-]+)(?::(?P<path>[^\s:]+))?$")
EXTENDS_ERROR = "`_extends` must be `repo`, `owner/repo` or `owner/repo:path.yml`"

DEFAULT_BRANCH_TTL = 60.0  # seconds a default branch's file (or its absence) is trusted

_documents = LRUCache(maxsize=1024)  # blob sha -> parsed mapping, or the error it gave
_default_reads = LRUCache(maxsize=1024)  # client, repository and path -> (until, Blob | None)
_commit_reads = LRUCache(maxsize=4096)  # client, repository, path and commit sha -> Blob | None
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Blob:
    """One config file as GitHub gave it: where it is, its blob sha and its text."""

    place: str  # `owner/repo:path`
    sha: str
    text: bytes
    error: str | None = None


@dataclass(frozen=True)
class Document:
    """The keys in force after merging, and what the parse cache keys them by.

    `error` means the repository's own file is unusable (the defaults apply); `problems` are
    errors met on the way through `_extends` (they invalidate the config too, with a reason).
    """

    values: dict[str, Any]
    key: str
    place: str
    problems: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Extends:
    """A parsed `_extends` value."""

    repo: str
    path: str

    @property
    def place(self) -> str:
        """`owner/repo:path`, as messages and loop detection name it."""
        return f"{self.repo}:{self.path}"


def parse_extends(value: Any, owner: str) -> Extends | None:
    """`_extends` relative to `owner` (the owner of the file that holds it); None if malformed."""
    match = _EXTENDS.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    return Extends(f"{match['owner'] or owner}/{match['repo']}", match["path"] or CONFIG_PATH)


async def fetch(gh: GitHubAPI, full_name: str, path: str, ref: str | None) -> Blob | None:
    """One file through the contents API; None when it does not exist (404)."""
    blob, _ = await _fetch(gh, full_name, path, ref)
    return blob


async def _fetch(
    gh: GitHubAPI, full_name: str, path: str, ref: str | None
) -> tuple[Blob | None, bool]:
    """The file, and whether the answer may be remembered: not when the 404 was for the ref
    itself ("No commit found for the ref", a commit not visible yet)."""
    url_vars = {"full_name": full_name, "path": path}
    template = "/repos/{+full_name}/contents/{+path}"
    if ref is not None:
        url_vars["ref"] = ref
        template += "{?ref}"
    try:
        data = await gh.getitem(template, url_vars=url_vars)
    except BadRequest as exc:
        if exc.status_code == 404:
            return None, "commit" not in str(exc).lower()
        raise
    place = f"{full_name}:{path}"
    if not isinstance(data, dict) or data.get("type") != "file":
        return Blob(place, "", b"", error=f"{path} is not a file"), True
    return Blob(place, str(data.get("sha")), base64.b64decode(data.get("content") or "")), True


def _client_key(gh: GitHubAPI, *parts: str) -> str:
    """Cache keys are per GitHub and installation: what one may read, another may not."""
    client = f"{getattr(gh, 'base_url', '')}|{getattr(gh, 'installation_id', '')}"
    return f"{client}|{':'.join(parts)}"


async def fetch_at_commit(gh: GitHubAPI, full_name: str, path: str, sha: str) -> Blob | None:
    """A file at a commit, asked for once per sha (a commit not visible yet is asked again)."""
    if not _FULL_SHA.match(sha):
        return await fetch(gh, full_name, path, sha)
    key = _client_key(gh, full_name, path, sha)
    try:
        found: Blob | None = _commit_reads[key]
        return found
    except KeyError:
        pass
    blob, lasting = await _fetch(gh, full_name, path, sha)
    if lasting:
        _commit_reads[key] = blob
    return blob


async def fetch_default(gh: GitHubAPI, full_name: str, path: str) -> Blob | None:
    """A file at the repository's default branch, asked for at most once per TTL."""
    key = _client_key(gh, full_name, path)
    try:
        until, cached = _default_reads[key]
        if until > time.monotonic():
            found: Blob | None = cached
            return found
    except KeyError:
        pass
    blob = await fetch(gh, full_name, path, None)
    _default_reads[key] = (time.monotonic() + DEFAULT_BRANCH_TTL, blob)
    return blob


def load_mapping(blob: Blob) -> dict[str, Any] | str:
    """The file's YAML as a mapping, or why it is not one; cached by blob sha."""
    if blob.error is not None:
        return blob.error
    try:
        cached: dict[str, Any] | str = _documents[blob.sha]
        return cached
    except KeyError:
        pass
    try:
        doc = yaml.safe_load(blob.text) if blob.text else {}
    except yaml.YAMLError as exc:
        doc = f"not valid YAML: {str(exc).splitlines()[0]}"
    if doc is None:
        doc = {}
    if not isinstance(doc, dict | str):
        doc = "the file must be a mapping of keys to values"
    _documents[blob.sha] = doc
    return doc


async def read_config(gh: GitHubAPI, full_name: str, ref: str) -> Document | None:
    """The repository's config at `ref`, the owner's `.github` one when it has none, or None."""
    own = await fetch_at_commit(gh, full_name, CONFIG_PATH, ref)
    owner, name = full_name.split("/", 1)
    if own is None and name != ORG_CONFIG_REPO:
        own = await fetch_default(gh, f"{owner}/{ORG_CONFIG_REPO}", CONFIG_PATH)
    if own is None:
        return None
    return await resolve(gh, own)


async def resolve(gh: GitHubAPI, own: Blob) -> Document:
    """Merge the chain of `_extends` bases under `own`: a file's keys win over its base's."""
    doc = load_mapping(own)
    if isinstance(doc, str):
        return Document({}, own.sha, own.place, error=doc)
    layers, keys, problems = [doc], [own.sha], []
    seen, current, owner = {own.place}, doc, own.place.split("/", 1)[0]
    for _ in range(MAX_EXTENDS + 1):
        if EXTENDS_KEY not in current:
            break
        if len(layers) > MAX_EXTENDS:
            problems.append(f"`_extends` goes deeper than {MAX_EXTENDS} files")
            break
        base, problem = await _base(gh, current[EXTENDS_KEY], owner, seen)
        if base is None:
            problems.append(problem)
            break
        current, owner = base[1], base[0].place.split("/", 1)[0]
        layers.append(current)
        keys.append(base[0].sha)
        seen.add(base[0].place)
    merged: dict[str, Any] = {}
    for layer in reversed(layers):
        merged.update(layer)
    merged.pop(EXTENDS_KEY, None)
    return Document(merged, "+".join(keys), own.place, tuple(problems))


async def _base(
    gh: GitHubAPI, value: Any, owner: str, seen: set[str]
) -> tuple[tuple[Blob, dict[str, Any]] | None, str]:
    """The base an `_extends` value names, read and parsed; else None and why not."""
    target = parse_extends(value, owner)
    if target is None:
        return None, EXTENDS_ERROR
    if target.place in seen:
        return None, f"`_extends` comes back to {target.place}"
    blob = await fetch_default(gh, target.repo, target.path)
    if blob is None:
        return None, f"`_extends`: {target.place} was not found (or the App cannot read it)"
    doc = load_mapping(blob)
    if isinstance(doc, str):
        return None, f"`_extends`: {target.place}: {doc}"
    return (blob, doc), ""
