"""Odd input is a 400 (or 413) in the API's error shape, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.web.api.params import Params, Whole, parse
from tests.api.conftest import bearer, seed_repo, sign_in
from tests.fakes.github_user import ADMIN, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]
DEEP = b"[" * 5000 + b"]" * 5000


def assert_error(body: dict[str, Any], code: str) -> None:
    assert body["error"] == code
    assert set(body) >= {"error", "message", "timestamp"}


class Page(Params):
    per_page: Whole = 30


@pytest.mark.parametrize("raw", ["--5", "²", "٥", "1_0", "5.0", "+5", "0x5", "", "9" * 30])
def test_integers_are_ascii_digits_only(raw: str) -> None:
    with pytest.raises(Exception) as info:
        parse(Page, {"per_page": raw})
    error = getattr(info.value, "code", None)
    assert error == "invalid_request", info.value
    assert info.value.details == {"parameter": "per_page"}  # type: ignore[attr-defined]


def test_integers_parse() -> None:
    assert parse(Page, {"per_page": " 7 "}).per_page == 7
    assert parse(Page, {"per_page": 7}).per_page == 7
    assert parse(Page, {}).per_page == 30
    with pytest.raises(Exception, match="per_page"):
        parse(Page, {"per_page": True})  # a JSON boolean is not a number


async def test_odd_query_values_are_400(client: TestClient, github: FakeGitHubUser, db: DB) -> None:
    seeded = await seed_repo(db, github, "acme/odd", private=False)
    headers = bearer((await sign_in(client, github, "octocat"))["session_token"])
    cases = {
        "/api/repositories?per_page=--5": "per_page",
        "/api/repositories?per_page=%C2%B2": "per_page",  # ²
        "/api/repositories?page=1_0": "page",
        f"/api/entities/{seeded.entity_id}/health-history?days=--5": "days",
        f"/api/entities/{seeded.entity_id}/health-history?days=%C2%B2": "days",
        "/api/entities/%C2%B2": "id",
        "/api/analysis/recent?limit=5.0": "limit",
        "/api/analysis/recent?repository_id=-1": "repository_id",
        "/api/public/pets/acme/odd?days=%C2%B2": "days",
    }
    for url, parameter in cases.items():
        resp = await client.get(url, headers=headers)
        assert resp.status == 400, (url, resp.status, await resp.text())
        body = await resp.json()
        assert_error(body, "invalid_request")
        assert body["details"]["parameter"] == parameter, url
    resp = await client.get("/api/repositories?per_page=5&page=1", headers=headers)
    assert resp.status == 200


def _body_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every /api route that takes a body, with its path's placeholders filled in."""
    api = next(
        r.get_info()["app"]
        for r in client.app.router.resources()
        if isinstance(r.get_info().get("app"), web.Application)
    )
    found = []
    for route in api.router.routes():
        if route.method in ("POST", "PATCH", "PUT"):
            path = route.resource.canonical if route.resource else ""
            for name, value in (("{id}", "1"), ("{github_repo_id}", "1")):
                path = path.replace(name, value)
            found.append((route.method, path))
    return found


async def test_deep_json_on_every_body_route_is_400(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    headers = {
        **bearer((await sign_in(client, github, "octocat"))["session_token"]),
        "Content-Type": "application/json",
    }
    routes = _body_routes(client)
    assert ("POST", "/api/analysis/trigger") in routes and len(routes) >= 6
    for method, path in routes:
        for body in (DEEP, b'{"name": ' + DEEP + b', "repository_id": 1}'):
            resp = await client.request(method, path, data=body, headers=headers)
            assert resp.status != 500, (method, path)
            assert resp.status < 500, (method, path, resp.status)
    # The routes that read a body say what is wrong with it (signed in again: one of the
    # routes above was /auth/logout).
    headers.update(bearer((await sign_in(client, github, "octocat"))["session_token"]))
    for path in (
        "/api/analysis/trigger",
        "/api/auth/github/initiate",
        "/api/auth/github/callback",
    ):
        resp = await client.post(path, data=DEEP, headers=headers)
        assert resp.status == 400, path
        body = await resp.json()
        assert_error(body, "invalid_request")
        assert body["details"]["parameter"] == "body"


async def test_huge_json_is_413(client: TestClient, github: FakeGitHubUser) -> None:
    headers = bearer((await sign_in(client, github, "octocat"))["session_token"])
    huge = b'{"repository_id": 1, "x": "' + b"a" * (256 * 1024) + b'"}'
    resp = await client.post("/api/analysis/trigger", data=huge, headers=headers)
    assert resp.status == 413
    assert_error(await resp.json(), "request_too_large")


async def test_wrong_types_in_bodies_are_named(client: TestClient, github: FakeGitHubUser) -> None:
    repo = github.add_repo(7, "acme/typed", private=True, language="Go")
    github.add_user("writer")
    github.grant("writer", repo["id"], ADMIN)
    headers = bearer((await sign_in(client, github, "writer"))["session_token"])
    monitor = f"/api/repositories/{repo['id']}/monitor"
    cases = [
        ("/api/analysis/trigger", {"repository_id": True}, "repository_id"),
        ("/api/analysis/trigger", {"repository_id": "²"}, "repository_id"),
        ("/api/analysis/trigger", {}, "repository_id"),
        (monitor, {"entity_preferences": []}, "entity_preferences"),
        (monitor, {"entity_preferences": {"type": "dragon"}}, "entity_preferences.type"),
        ("/api/auth/github/initiate", {"redirect_uri": ["x"]}, "redirect_uri"),
        ("/api/auth/github/callback", {"code": 5, "state": "s"}, "code"),
    ]
    for path, payload, parameter in cases:
        resp = await client.post(path, json=payload, headers=headers)
        assert resp.status == 400, (path, payload, resp.status)
        body = await resp.json()
        assert_error(body, "invalid_request")
        assert body["details"]["parameter"] == parameter, (path, payload)


async def test_rename_drops_bidi_and_zero_width(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    seeded = await seed_repo(db, github, "acme/named", private=True)
    github.add_user("writer")
    github.grant("writer", seeded.github_id, ADMIN)
    headers = bearer((await sign_in(client, github, "writer"))["session_token"])
    url = f"/api/entities/{seeded.entity_id}"
    resp = await client.patch(url, json={"name": "\u202eMo\u200bchi\u2069"}, headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["entity"]["name"] == "Mochi"
    resp = await client.patch(url, json={"name": "\u200b\u202e"}, headers=headers)
    assert resp.status == 400
    assert (await resp.json())["details"]["parameter"] == "name"
