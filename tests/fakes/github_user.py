"""A fake of GitHub's user-facing side: the OAuth token endpoint and user-to-server REST calls.

It serves `/login/oauth/access_token` (code and refresh-token grants, with GitHub's habit of
answering a bad code with 200 and `{"error": "bad_verification_code"}`), `GET /user`,
`GET /user/installations`, `GET /user/installations/{id}/repositories` (with the user's
`permissions` on each repository) and `GET /repos/{owner}/{repo}`. REST requests are checked
against GitHub's OpenAPI description; a mismatch is answered 400 and recorded in `errors`.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes.openapi import OpenAPIMismatch, validate_request

CLIENT_ID = "Iv1.fakeclientid"
CLIENT_SECRET = "fake-client-secret-0123456789"
READ = {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True}
WRITE = {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True}
ADMIN = {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True}


@dataclass
class FakeUser:
    """A GitHub account that can sign in."""

    id: int
    login: str
    email: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "id": self.id,
            "node_id": f"U_{self.id}",
            "avatar_url": f"https://avatars.example/u/{self.id}",
            "type": "User",
            "site_admin": False,
            "name": self.login.title(),
            "email": self.email,
        }


@dataclass
class FakeGitHubUser:
    """State of the fake: accounts, codes, tokens, installations and who may see what."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    expiring: bool = False
    users: dict[str, FakeUser] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    installations: dict[int, str] = field(default_factory=dict)
    repos: dict[int, dict[str, Any]] = field(default_factory=dict)
    grants: dict[tuple[str, int], dict[str, bool]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1000))

    # ---- arranging -----------------------------------------------------------------------------

    def add_user(self, login: str, email: str | None = None) -> FakeUser:
        user = FakeUser(next(self._ids), login, email or f"{login}@example.com")
        self.users[login] = user
        return user

    def code_for(self, login: str) -> str:
        """A one-time authorization code, as GitHub appends to the redirect."""
        code = secrets.token_hex(10)
        self.codes[code] = login
        return code

    def add_installation(self, installation_id: int, account: str) -> None:
        self.installations[installation_id] = account

    def add_repo(
        self,
        installation_id: int,
        full_name: str,
        *,
        private: bool = False,
        language: str | None = "Python",
        repo_id: int | None = None,
    ) -> dict[str, Any]:
        repo_id = repo_id or next(self._ids)
        owner = full_name.split("/")[0]
        self.repos[repo_id] = {
            "id": repo_id,
            "node_id": f"R_{repo_id}",
            "name": full_name.split("/")[1],
            "full_name": full_name,
            "private": private,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "html_url": f"https://github.example/{full_name}",
            "language": language,
            "default_branch": "main",
            "archived": False,
            "created_at": f"2025-01-{(repo_id % 27) + 1:02d}T00:00:00Z",
            "updated_at": f"2026-10-{(repo_id % 27) + 1:02d}T00:00:00Z",
            "pushed_at": f"2026-11-{(repo_id % 27) + 1:02d}T00:00:00Z",
            "_installation": installation_id,
        }
        return self.repos[repo_id]

    def grant(self, login: str, repo_id: int, permissions: dict[str, bool]) -> None:
        """Give a user a role on a repository (what GitHub's collaborators and teams decide)."""
        self.grants[(login, repo_id)] = dict(permissions)

    def count(self, path_prefix: str) -> int:
        """How many requests went to paths starting with this prefix."""
        return sum(1 for _, p in self.requests if p.startswith(path_prefix))

    # ---- server --------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/login/oauth/access_token", self.access_token)
        app.router.add_get("/user", self.user)
        app.router.add_get("/user/installations", self.user_installations)
        app.router.add_get("/user/installations/{id}/repositories", self.installation_repos)
        app.router.add_get("/repos/{owner}/{repo}", self.repo)
        return app

    def _check(self, request: web.Request) -> None:
        self.requests.append((request.method, request.path))
        try:
            validate_request(request.method, request.path, dict(request.query))
        except OpenAPIMismatch as exc:
            self.errors.append(str(exc))
            raise web.HTTPBadRequest(text=str(exc)) from None

    def _login(self, request: web.Request) -> str:
        """The user behind `Authorization: Bearer|token …`, or GitHub's 401."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        login = self.tokens.get(token.strip()) if scheme.lower() in ("bearer", "token") else None
        if login is None:
            raise web.HTTPUnauthorized(
                text='{"message": "Bad credentials", "status": "401"}',
                content_type="application/json",
            )
        return login

    def _issue(self, login: str) -> dict[str, Any]:
        token = "ghu_" + secrets.token_hex(18)
        self.tokens[token] = login
        self.issued.append(token)
        body: dict[str, Any] = {"access_token": token, "token_type": "bearer", "scope": ""}
        if self.expiring:
            refresh = "ghr_" + secrets.token_hex(30)
            self.refresh_tokens[refresh] = login
            self.issued.append(refresh)
            body.update(expires_in=28800, refresh_token=refresh, refresh_token_expires_in=15897600)
        return body

    async def access_token(self, request: web.Request) -> web.Response:
        """Code or refresh-token grant; errors are 200 with `error`, as on github.com."""
        self.requests.append((request.method, request.path))
        raw = await request.text()
        form = dict(parse_qsl(raw)) if "json" not in request.content_type else await request.json()
        if request.headers.get("Accept") != "application/json":
            self.errors.append("token request without Accept: application/json")
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return web.json_response({"error": "incorrect_client_credentials"})
        if form.get("grant_type") == "refresh_token":
            login = self.refresh_tokens.pop(str(form.get("refresh_token")), None)
            if login is None:
                return web.json_response({"error": "bad_refresh_token"})
            return web.json_response(self._issue(login))
        login = self.codes.pop(str(form.get("code")), None)
        if login is None:
            return web.json_response(
                {
                    "error": "bad_verification_code",
                    "error_description": "The code passed is incorrect or expired.",
                    "error_uri": "https://docs.github.com/apps/troubleshooting",
                }
            )
        return web.json_response(self._issue(login))

    async def user(self, request: web.Request) -> web.Response:
        self._check(request)
        return web.json_response(self.users[self._login(request)].json())

    def _visible(self, login: str) -> list[dict[str, Any]]:
        return [r for rid, r in self.repos.items() if (login, rid) in self.grants]

    @staticmethod
    def _page(request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """GitHub's pagination: per_page/page with a Link header to the next page."""
        per_page = int(request.query.get("per_page", 30))
        page = int(request.query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            nxt = request.url.update_query(page=str(page + 1))
            headers["Link"] = f'<{nxt}>; rel="next"'
        return chunk, headers

    def _public_repo(self, repo: dict[str, Any], login: str) -> dict[str, Any]:
        out = {k: v for k, v in repo.items() if not k.startswith("_")}
        out["permissions"] = self.grants.get((login, repo["id"]), READ)
        return out

    async def user_installations(self, request: web.Request) -> web.Response:
        self._check(request)
        login = self._login(request)
        ids = sorted({r["_installation"] for r in self._visible(login)})
        items = [
            {
                "id": i,
                "account": {"login": self.installations.get(i, "org"), "id": i},
                "app_id": 1,
                "target_type": "Organization",
                "repository_selection": "selected",
                "permissions": {"metadata": "read", "contents": "read", "statuses": "write"},
            }
            for i in ids
        ]
        chunk, headers = self._page(request, items)
        return web.json_response(
            {"total_count": len(items), "installations": chunk}, headers=headers
        )

    async def installation_repos(self, request: web.Request) -> web.Response:
        self._check(request)
        login = self._login(request)
        inst = int(request.match_info["id"])
        items = [
            self._public_repo(r, login) for r in self._visible(login) if r["_installation"] == inst
        ]
        if not items:
            raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
        chunk, headers = self._page(request, items)
        return web.json_response(
            {"total_count": len(items), "repository_selection": "selected", "repositories": chunk},
            headers=headers,
        )

    async def repo(self, request: web.Request) -> web.Response:
        self._check(request)
        login = self._login(request)
        name = f"{request.match_info['owner']}/{request.match_info['repo']}"
        for repo in self.repos.values():
            if repo["full_name"].lower() == name.lower() and (
                not repo["private"] or (login, repo["id"]) in self.grants
            ):
                return web.json_response(self._public_repo(repo, login))
        raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
