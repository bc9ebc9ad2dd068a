"""A small fake GitHub REST server for the commit source: commits, blobs and contents.

It serves two trees (a parent revision and a commit) and builds the responses
from them the way GitHub does: ``files[]`` with patches (none for binary files),
git blobs by sha, and contents by path and ref, both base64 encoded.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.analysis.helpers import make_patch
from tests.fakes.openapi import OpenAPIMismatch, validate_request

PARENT, HEAD = "1" * 40, "2" * 40


@web.middleware
async def openapi_checked(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse, as a 400, any request GitHub's OpenAPI description does not allow."""
    try:
        validate_request(request.method, request.path, dict(request.query))
    except OpenAPIMismatch as exc:
        return web.json_response({"message": str(exc)}, status=400)
    return await handler(request)  # type: ignore[no-any-return]


def git_sha(content: bytes) -> str:
    """The blob sha git gives this content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _encoded(content: bytes) -> dict[str, Any]:
    return {"encoding": "base64", "size": len(content), "sha": git_sha(content),
            "content": base64.encodebytes(content).decode()}  # fmt: skip


@dataclass
class FakeGitHub:
    """Two revisions of a repository and the requests made against them."""

    parent: dict[str, bytes]
    head: dict[str, bytes]
    renames: dict[str, str] = field(default_factory=dict)  # new path -> old path
    requests: list[str] = field(default_factory=list)
    contents_status: dict[str, int] = field(default_factory=dict)  # path -> forced status

    def blobs(self) -> dict[str, bytes]:
        return {git_sha(c): c for c in [*self.parent.values(), *self.head.values()]}

    def file_entry(self, path: str) -> dict[str, Any]:
        old_path = self.renames.get(path, path)
        before, after = self.parent.get(old_path), self.head.get(path)
        status = ("renamed" if path in self.renames else "added" if before is None
                  else "removed" if after is None else "modified")  # fmt: skip
        entry: dict[str, Any] = {"filename": path, "status": status,
                                 "sha": git_sha(after or before or b"")}  # fmt: skip
        if path in self.renames:
            entry["previous_filename"] = old_path
        if b"\0" not in (before or b"") + (after or b""):
            patch = make_patch((before or b"").decode(), (after or b"").decode())
            entry["patch"] = patch
            entry["additions"] = sum(line.startswith("+") for line in patch.split("\n"))
            entry["deletions"] = sum(line.startswith("-") for line in patch.split("\n"))
        return entry

    def changed_paths(self) -> list[str]:
        renamed_from = set(self.renames.values())
        paths = sorted(set(self.parent) | set(self.head))
        return [p for p in paths if p not in renamed_from
                and self.parent.get(self.renames.get(p, p)) != self.head.get(p)]  # fmt: skip

    async def commit(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        if request.match_info["sha"] != HEAD:
            return web.json_response({"message": "No commit found"}, status=422)
        return web.json_response({
            "sha": HEAD, "parents": [{"sha": PARENT}],
            "commit": {"message": "Improve grading",
                       "author": {"name": "Ada", "email": "ada@example.com",
                                  "date": "2025-01-02T03:04:05Z"},
                       "committer": {"name": "Ada", "email": "ada@example.com",
                                     "date": "2025-01-02T04:05:06Z"}},
            "files": [self.file_entry(path) for path in self.changed_paths()],
        })  # fmt: skip

    async def blob(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        content = self.blobs().get(request.match_info["sha"])
        if content is None:
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response({"url": str(request.url), **_encoded(content)})

    async def contents(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.requests.append(f"{request.path}?ref={request.query.get('ref')}")
        tree = {PARENT: self.parent, HEAD: self.head}.get(request.query.get("ref", ""), {})
        if path in self.contents_status:
            return web.json_response({"message": "forced"}, status=self.contents_status[path])
        if path not in tree:
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response({"type": "file", "path": path, **_encoded(tree[path])})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[openapi_checked])
        app.router.add_get("/repos/{owner}/{repo}/commits/{sha}", self.commit)
        app.router.add_get("/repos/{owner}/{repo}/git/blobs/{sha}", self.blob)
        app.router.add_get("/repos/{owner}/{repo}/contents/{path:.+}", self.contents)
        return app
