"""A fake GitHub REST server on loopback that behaves like the real one, errors included.

Every request is checked against GitHub's OpenAPI description; a request GitHub would reject
is answered 400 and recorded in `errors`, so tests assert `fake.errors == []`.

Commits carry GitHub's `files[]` (renames with `previous_filename`, no `patch` for binary
files); blobs are served by sha and contents by path and ref, base64 with line breaks as
GitHub sends them. This is the only fake GitHub App server; `tests/fakes/github_user.py` is
the user-facing (OAuth) side.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.openapi import OpenAPIMismatch, validate_request

Route = Callable[[web.Request, dict[str, str], Any], Awaitable[web.StreamResponse]]


def make_private_key() -> tuple[str, Any]:
    """A fresh RSA key as PEM text (for PRIVATE_KEY) and its public key (to check JWTs)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


@dataclass
class Recorded:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    operation: str
    headers: dict[str, str]


@dataclass
class Fault:
    """A canned response returned instead of the normal one, `times` times."""

    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: Any
    times: int


@dataclass
class FakeGitHub:
    """State and behaviour of the fake; `app` is the aiohttp application serving it."""

    app_id: int = 4242
    token_lifetime: timedelta = timedelta(hours=1)
    private_key_pem: str = ""
    public_key: Any = None
    installations: dict[int, dict[str, Any]] = field(default_factory=dict)
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)
    commits: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    branches: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    contents: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    holds: list[tuple[str, re.Pattern[str], asyncio.Event]] = field(default_factory=list)
    tokens: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate_remaining: int = 5000
    url: str = ""
    slug: str = "tamagitto-test"
    prefix: str = ""

    def __post_init__(self) -> None:
        if not self.private_key_pem:
            self.private_key_pem, self.public_key = make_private_key()
        self._ids = itertools.count(1000)
        self._routes: list[tuple[str, re.Pattern[str], Route]] = []
        self._register()
        from tests.fakes.github_checks import ChecksFake  # it imports this module

        self.checks = ChecksFake(self)

    # ---- test set-up helpers -------------------------------------------------------------

    def add_installation(self, installation_id: int, login: str = "octo-org") -> dict[str, Any]:
        """An installation on an organization account."""
        inst = {
            "id": installation_id,
            "account": {"login": login, "id": installation_id + 1, "type": "Organization"},
        }
        self.installations[installation_id] = inst
        return inst

    def add_repo(
        self,
        full_name: str,
        *,
        repo_id: int | None = None,
        language: str | None = "Python",
        private: bool = False,
        default_branch: str = "main",
        installation_id: int | None = None,
    ) -> dict[str, Any]:
        """A repository as `GET /repos/{o}/{r}` returns it."""
        owner, name = full_name.split("/")
        repo = {
            "id": repo_id or next(self._ids),
            "node_id": "R_x",
            "name": name,
            "full_name": full_name,
            "private": private,
            "language": language,
            "default_branch": default_branch,
            "archived": False,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "html_url": f"https://github.com/{full_name}",
            "_installation_id": installation_id,
        }
        self.repos[full_name] = repo
        self.commits.setdefault(full_name, {})
        self.branches.setdefault(full_name, {default_branch: []})
        return repo

    def add_commit(
        self,
        full_name: str,
        sha: str,
        files: list[dict[str, Any]],
        *,
        message: str = "change",
        parents: list[str] | None = None,
        branch: str | None = "main",
        date: str = "2026-11-20T10:00:00Z",
        author_date: str | None = None,
        before: dict[str, bytes] | None = None,
        after: dict[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """A commit with its files (GitHub's `files[]` shape) and file contents at both sides.

        `date` is the committer's date, `author_date` (default: the same) the author's, so a
        test can tell which one a reader takes. Both sides' contents are also served as blobs.
        """
        parent = parents[0] if parents else None
        commit = {
            "sha": sha,
            "node_id": "C_x",
            "html_url": f"https://github.com/{full_name}/commit/{sha}",
            "commit": {
                "message": message,
                "author": {
                    "name": "Octo Cat",
                    "email": "octo@example.com",
                    "date": author_date or date,
                },
                "committer": {"name": "Octo Cat", "email": "octo@example.com", "date": date},
            },
            "author": {"login": "octocat", "id": 1},
            "parents": [{"sha": p} for p in (parents or [])],
            "files": files,
            "stats": {
                "additions": sum(f.get("additions", 0) for f in files),
                "deletions": sum(f.get("deletions", 0) for f in files),
                "total": sum(f.get("changes", 0) for f in files),
            },
        }
        self.commits.setdefault(full_name, {})[sha] = commit
        for path, data in (after or {}).items():
            self.contents[(full_name, sha, path)] = data
            blob = git_blob_sha(data)
            self.blobs[blob] = data
            for entry in files:
                if entry["filename"] == path:
                    entry["sha"] = blob
        for path, data in (before or {}).items():
            self.blobs[git_blob_sha(data)] = data
            if parent:
                self.contents[(full_name, parent, path)] = data
        if branch:
            self.branches.setdefault(full_name, {}).setdefault(branch, []).append(sha)
        return commit

    def add_change(
        self,
        full_name: str,
        sha: str,
        parent: str,
        files: dict[str, tuple[bytes | None, bytes | None]],
        *,
        message: str = "change",
        branch: str = "master",
        renames: dict[str, str] | None = None,
        date: str = "2026-11-20T10:00:00Z",
        author_date: str | None = None,
    ) -> dict[str, Any]:
        """A commit given as {path: (before, after)}; patches and blobs are derived.

        `renames` maps a new path to its old one: the entry is `renamed`, and its "before"
        lives at the old path in the parent.
        """
        old = renames or {}
        changes = [
            file_change(path, before, after, previous=old.get(path))
            for path, (before, after) in files.items()
        ]
        return self.add_commit(
            full_name,
            sha,
            changes,
            message=message,
            parents=[parent],
            branch=branch,
            date=date,
            author_date=author_date,
            before={old.get(p, p): b for p, (b, _) in files.items() if b is not None},
            after={p: a for p, (_, a) in files.items() if a is not None},
        )

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer matching requests with `status` for the next `times` requests."""
        self.faults.append(
            Fault(method.upper(), re.compile(path_regex), status, headers or {}, body, times)
        )

    def hold(self, method: str, path_regex: str) -> asyncio.Event:
        """Keep matching requests waiting until the returned event is set (a slow GitHub)."""
        gate = asyncio.Event()
        self.holds.append((method.upper(), re.compile(path_regex), gate))
        return gate

    def calls(self, operation: str) -> list[Recorded]:
        """Recorded requests for one operationId."""
        return [r for r in self.requests if r.operation == operation]

    def issue_token(self, installation_id: int) -> str:
        """An installation token, as `POST /app/installations/{id}/access_tokens` mints it.

        Tests of code that is handed a ready client (the commit source) start from one.
        """
        token = "ghs_" + secrets.token_hex(18)
        self.tokens[token] = (installation_id, datetime.now(UTC) + self.token_lifetime)
        return token

    # ---- server ------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application serving this fake."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        path = request.path
        if self.prefix:
            # GitHub Enterprise Server serves the REST API under `/api/v3`.
            if not path.startswith(self.prefix + "/"):
                return _error(404, "Not Found")
            path = path.removeprefix(self.prefix)
        try:
            operation = validate_request(request.method, path, dict(request.query), body)
        except OpenAPIMismatch as exc:
            self.errors.append(str(exc))
            return _error(400, f"Invalid request: {exc}")
        self.requests.append(
            Recorded(
                request.method, path, dict(request.query), body, operation, dict(request.headers)
            )
        )
        for method, pattern, gate in self.holds:
            if method == request.method and pattern.search(path):
                await gate.wait()
        fault = self._fault(request.method, path)
        if fault is not None:
            return web.json_response(
                fault.body or {"message": f"fake {fault.status}"},
                status=fault.status,
                headers=fault.headers,
            )
        for method, pattern, route in self._routes:
            match = pattern.match(path)
            if match and method == request.method:
                return await route(request, match.groupdict(), body)
        return _error(404, "Not Found")

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return None
        ctype = request.headers.get("content-type", "")
        if "json" in ctype:
            try:
                return json.loads(raw)
            except ValueError:
                self.errors.append(f"{request.method} {request.path}: body is not JSON")
                return raw
        return raw

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.pattern.search(path):
                fault.times -= 1
                return fault
        return None

    def _route(self, method: str, template: str) -> Callable[[Route], Route]:
        template = template.replace("{path}", "(?P<path>.+)")
        pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

        def register(fn: Route) -> Route:
            self._routes.append((method, pattern, fn))
            return fn

        return register

    # ---- auth ----------------------------------------------------------------------------------

    def _check_jwt(self, request: web.Request) -> web.Response | None:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return _error(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(credential, self.public_key, algorithms=["RS256"])
        except jwt.PyJWTError as exc:
            return _error(401, f"'Expiration time' claim ('exp') is invalid or {exc}")
        if str(claims.get("iss")) != str(self.app_id):
            return _error(401, "Integration not found")
        return None

    def _check_token(
        self, request: web.Request, installation_id: int | None
    ) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        known = self.tokens.get(token)
        if known is None or known[1] <= datetime.now(UTC):
            return _error(401, "Bad credentials")
        if installation_id is not None and known[0] != installation_id:
            return _error(404, "Not Found")
        return None

    def _repo_installation(self, full_name: str) -> int | None:
        repo = self.repos.get(full_name)
        return repo.get("_installation_id") if repo else None

    def _register(self) -> None:
        route = self._route

        @route("POST", "/app/installations/{installation_id}/access_tokens")
        async def access_token(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            if (denied := self._check_jwt(request)) is not None:
                return denied
            inst = int(p["installation_id"])
            if inst not in self.installations:
                return _error(404, "Not Found")
            token = self.issue_token(inst)
            return web.json_response(
                {
                    "token": token,
                    "expires_at": _iso(self.tokens[token][1]),
                    "permissions": {"contents": "read", "statuses": "write"},
                    "repository_selection": "all",
                },
                status=201,
            )

        @route("GET", "/app")
        async def get_app(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            if (denied := self._check_jwt(request)) is not None:
                return denied
            return web.json_response({"id": self.app_id, "slug": self.slug, "name": self.slug})

        @route("GET", "/repos/{owner}/{repo}")
        async def get_repo(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            full = f"{p['owner']}/{p['repo']}"
            if (denied := self._check_token(request, self._repo_installation(full))) is not None:
                return denied
            repo = self.repos.get(full)
            if repo is None:
                return _error(404, "Not Found")
            return web.json_response(_public(repo))

        @route("GET", "/repos/{owner}/{repo}/commits/{ref}")
        async def get_commit(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            full = f"{p['owner']}/{p['repo']}"
            if (denied := self._check_token(request, self._repo_installation(full))) is not None:
                return denied
            commit = self.commits.get(full, {}).get(p["ref"])
            if commit is None:
                return _error(422, f"No commit found for SHA: {p['ref']}")
            return web.json_response(commit)

        @route("GET", "/repos/{owner}/{repo}/commits")
        async def list_commits(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            full = f"{p['owner']}/{p['repo']}"
            if (denied := self._check_token(request, self._repo_installation(full))) is not None:
                return denied
            ref = request.query.get("sha") or self.repos[full]["default_branch"]
            shas = list(reversed(self._history(full, ref)))
            per_page = int(request.query.get("per_page", "30"))
            items = [_summary(self.commits[full][s]) for s in shas[:per_page]]
            etag = '"' + str(hash(tuple(shas[:per_page]))) + '"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.json_response(items, headers={"ETag": etag, **self._rate_headers()})

        @route("GET", "/repos/{owner}/{repo}/compare/{basehead}")
        async def compare(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            full = f"{p['owner']}/{p['repo']}"
            if (denied := self._check_token(request, self._repo_installation(full))) is not None:
                return denied
            base, _, head = p["basehead"].partition("...")
            order = [s for shas in self.branches.get(full, {}).values() for s in shas]
            if head not in order:
                return _error(404, "Not Found")
            start = order.index(base) + 1 if base in order else 0
            chain = order[start : order.index(head) + 1]
            return web.json_response(
                {
                    "status": "ahead",
                    "ahead_by": len(chain),
                    "behind_by": 0,
                    "total_commits": len(chain),
                    "commits": [_summary(self.commits[full][s]) for s in chain],
                    "files": [],
                }
            )

        @route("GET", "/repos/{owner}/{repo}/contents/{path}")
        async def contents(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            return await self._contents(request, p)

        @route("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}")
        async def get_blob(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            full = f"{p['owner']}/{p['repo']}"
            if (denied := self._check_token(request, self._repo_installation(full))) is not None:
                return denied
            data = self.blobs.get(p["file_sha"])
            if data is None:
                return _error(404, "Not Found")
            return web.json_response(
                {
                    "sha": p["file_sha"],
                    "size": len(data),
                    "encoding": "base64",
                    "node_id": "B_x",
                    "url": f"{self.url}/repos/{full}/git/blobs/{p['file_sha']}",
                    "content": _base64(data),
                }
            )

        @route("POST", "/repos/{owner}/{repo}/statuses/{sha}")
        async def create_status(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            full = f"{p['owner']}/{p['repo']}"
            if (denied := self._check_token(request, self._repo_installation(full))) is not None:
                return denied
            if len(str(body.get("description", ""))) > 140:
                return _error(
                    422, "Validation Failed: description is too long (maximum is 140 characters)"
                )
            status = {"id": next(self._ids), "sha": p["sha"], "repo": full, **body}
            self.statuses.append(status)
            return web.json_response(status, status=201)

        @route("GET", "/rate_limit")
        async def rate_limit(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            if (denied := self._check_token(request, None)) is not None:
                return denied
            core = {
                "limit": 5000,
                "remaining": self.rate_remaining,
                "used": 5000 - self.rate_remaining,
                "reset": int(datetime.now(UTC).timestamp()) + 3600,
            }
            return web.json_response({"resources": {"core": core}, "rate": core})

        @route("POST", "/app-manifests/{code}/conversions")
        async def conversion(request: web.Request, p: dict[str, str], body: Any) -> web.Response:
            manifest = self.manifests.pop(p["code"], None)
            if manifest is None:
                return _error(404, "Not Found")
            return web.json_response(manifest, status=201)

    def _history(self, full_name: str, ref: str) -> list[str]:
        """Oldest-first commits reachable from a branch name or a commit sha."""
        branches = self.branches.get(full_name, {})
        if ref in branches:
            return branches[ref]
        for shas in branches.values():
            if ref in shas:
                return shas[: shas.index(ref) + 1]
        return []

    async def _contents(self, request: web.Request, p: dict[str, str]) -> web.Response:
        full = f"{p['owner']}/{p['repo']}"
        if (denied := self._check_token(request, self._repo_installation(full))) is not None:
            return denied
        if full not in self.repos:
            return _error(404, "Not Found")
        ref = request.query.get("ref") or self.repos[full]["default_branch"]
        data = self.contents.get((full, ref, p["path"]))
        if data is None:
            return _error(404, "Not Found")
        if "raw" in request.headers.get("Accept", ""):
            return web.Response(body=data, content_type="application/octet-stream")
        return web.json_response(
            {
                "type": "file",
                "path": p["path"],
                "name": p["path"],
                "sha": git_blob_sha(data),
                "size": len(data),
                "encoding": "base64",
                "content": _base64(data),
            }
        )

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(self.rate_remaining),
            "X-RateLimit-Reset": str(int(datetime.now(UTC).timestamp()) + 3600),
        }


def git_blob_sha(data: bytes) -> str:
    """The sha git gives a blob (what `files[].sha` holds)."""
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def file_change(
    path: str, before: bytes | None, after: bytes | None, *, previous: str | None = None
) -> dict[str, Any]:
    """A `files[]` entry with a real unified-diff patch, as GET a commit returns it.

    A binary file (a NUL byte on either side) has no `patch` and zero counts, as on GitHub;
    `previous` makes the entry a rename from that path.
    """
    status = "added" if before is None else ("removed" if after is None else "modified")
    entry: dict[str, Any] = {
        "filename": path,
        "status": "renamed" if previous else status,
        "additions": 0,
        "deletions": 0,
        "changes": 0,
        "sha": git_blob_sha(after if after is not None else before or b""),
    }
    if previous:
        entry["previous_filename"] = previous
    if b"\0" not in (before or b"") + (after or b""):
        lines = _diff_lines(before, after)
        added = sum(1 for x in lines if x.startswith("+"))
        removed = sum(1 for x in lines if x.startswith("-"))
        entry.update(additions=added, deletions=removed, changes=added + removed)
        entry["patch"] = "\n".join(lines)
    return entry


def _diff_lines(before: bytes | None, after: bytes | None) -> list[str]:
    """The hunks of a unified diff, headers dropped, as GitHub's `patch` has them."""
    import difflib

    old = (before or b"").decode().splitlines()
    new = (after or b"").decode().splitlines()
    return list(difflib.unified_diff(old, new, lineterm="", n=3))[2:]


def _base64(data: bytes) -> str:
    """Base64 with line breaks, as GitHub's blob and contents responses carry it."""
    return base64.encodebytes(data).decode()


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _public(repo: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in repo.items() if not k.startswith("_")}


def _summary(commit: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in commit.items() if k not in ("files", "stats")}


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"message": message, "documentation_url": "https://docs.github.com/rest"}, status=status
    )
