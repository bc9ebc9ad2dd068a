"""Sign-in, sessions and token storage against the fake GitHub and the real PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.models import RevokedSession, User
from app.web.api import sessions
from app.web.api.auth import allowed_redirect
from tests.api.conftest import (
    EXTENSION_ID,
    EXTENSION_REDIRECT,
    PUBLIC_URL,
    SESSION_SECRET,
    bearer,
    sign_in,
)
from tests.fakes.github_user import FakeGitHubUser


async def test_initiate_gives_github_url_with_signed_state(client: TestClient) -> None:
    resp = await client.post("/api/auth/github/initiate", json={"redirect_uri": EXTENSION_REDIRECT})
    assert resp.status == 200
    body = await resp.json()
    url = urlsplit(body["oauth_url"])
    query = parse_qs(url.query)
    assert url.path == "/login/oauth/authorize"
    assert query["redirect_uri"] == [EXTENSION_REDIRECT]
    assert query["state"] == [body["state"]]
    claims = jwt.decode(body["state"], SESSION_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 600
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header in resp.headers


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/callback",
        "https://zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.chromiumapp.org/cb",
        f"https://{EXTENSION_ID}.chromiumapp.org.evil.example/cb",
        f"http://{EXTENSION_ID}.chromiumapp.org/cb",
        "https://pets.example.org.evil.example/",
        "https://pets.example.org@evil.example/",
        "https://user@pets.example.org/",
        "https://pets.example.org:8443/",
        "http://pets.example.org/",
        "https://pets.example.org\\@evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "",
    ],
)
async def test_foreign_redirect_is_refused(client: TestClient, uri: str) -> None:
    resp = await client.post("/api/auth/github/initiate", json={"redirect_uri": uri})
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "invalid_request"
    assert body["details"]["parameter"] == "redirect_uri"
    assert "timestamp" in body


def test_allowed_redirects(api_settings: Settings) -> None:
    assert allowed_redirect(EXTENSION_REDIRECT, api_settings)
    assert allowed_redirect(f"https://{EXTENSION_ID.upper()}.chromiumapp.org/", api_settings)
    assert allowed_redirect(f"{PUBLIC_URL}/signed-in?x=1", api_settings)
    assert allowed_redirect(PUBLIC_URL, api_settings)
    assert not allowed_redirect(f"{PUBLIC_URL}/a/../../b", api_settings)


async def test_sign_in_stores_only_ciphertext(
    client: TestClient, github: FakeGitHubUser, db: async_sessionmaker[AsyncSession]
) -> None:
    github.expiring = True
    body = await sign_in(client, github, "octocat")
    assert body["user"]["username"] == "octocat"
    assert body["user"]["avatar_url"].endswith(str(github.users["octocat"].id))
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=24)
    async with db() as session:
        user = (await session.scalars(select(User))).one()
    access_token, refresh_token = github.issued
    assert user.token_key_id == "k1"
    assert user.token_ciphertext and access_token.encode() not in user.token_ciphertext
    assert user.refresh_token_ciphertext
    assert refresh_token.encode() not in user.refresh_token_ciphertext
    assert user.token_expires_at is not None and user.refresh_token_expires_at is not None
    me = await client.get("/api/me", headers=bearer(body["session_token"]))
    assert me.status == 200
    assert (await me.json())["user"]["username"] == "octocat"


async def test_second_sign_in_updates_the_same_user(
    client: TestClient, github: FakeGitHubUser, db: async_sessionmaker[AsyncSession]
) -> None:
    first = await sign_in(client, github, "octocat")
    second = await sign_in(client, github, "octocat")
    assert first["user"]["id"] == second["user"]["id"]
    async with db() as session:
        assert len((await session.scalars(select(User))).all()) == 1


async def test_state_replay_is_refused(client: TestClient, github: FakeGitHubUser) -> None:
    github.add_user("octocat")
    resp = await client.post("/api/auth/github/initiate", json={"redirect_uri": EXTENSION_REDIRECT})
    state = (await resp.json())["state"]
    ok = await client.post(
        "/api/auth/github/callback", json={"code": github.code_for("octocat"), "state": state}
    )
    assert ok.status == 200
    replay = await client.post(
        "/api/auth/github/callback", json={"code": github.code_for("octocat"), "state": state}
    )
    assert replay.status == 400
    body = await replay.json()
    assert body["error"] == "invalid_state"
    assert "already used" in body["message"]


async def test_forged_and_expired_states_are_refused(
    client: TestClient, github: FakeGitHubUser
) -> None:
    github.add_user("octocat")
    now = datetime.now(UTC)
    claims = {
        "typ": "oauth_state",
        "jti": "x" * 32,
        "redirect_uri": EXTENSION_REDIRECT,
        "iat": int(now.timestamp()),
    }
    forged = jwt.encode(
        {**claims, "exp": int(now.timestamp()) + 600}, "wrong-secret-wrong-secret-0000000"
    )
    expired = jwt.encode({**claims, "exp": int(now.timestamp()) - 60}, SESSION_SECRET)
    for state in (forged, expired, "not-a-jwt"):
        resp = await client.post(
            "/api/auth/github/callback", json={"code": github.code_for("octocat"), "state": state}
        )
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_state"


async def test_bad_code_gives_clear_400(client: TestClient, github: FakeGitHubUser) -> None:
    resp = await client.post("/api/auth/github/initiate", json={"redirect_uri": EXTENSION_REDIRECT})
    state = (await resp.json())["state"]
    resp = await client.post("/api/auth/github/callback", json={"code": "nope", "state": state})
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "invalid_code"
    assert body["details"] == {"parameter": "code", "github_error": "bad_verification_code"}
    assert "bad_verification_code" in body["message"]


async def test_callback_needs_code_and_state(client: TestClient) -> None:
    for payload, missing in (({"state": "x"}, "code"), ({"code": "x"}, "state")):
        resp = await client.post("/api/auth/github/callback", json=payload)
        assert resp.status == 400
        assert (await resp.json())["details"]["parameter"] == missing
    resp = await client.post("/api/auth/github/callback", data=b"{not json")
    assert (await resp.json())["details"]["parameter"] == "body"


async def test_refresh_renews_and_revokes_the_old_token(
    client: TestClient, github: FakeGitHubUser
) -> None:
    old = (await sign_in(client, github, "octocat"))["session_token"]
    resp = await client.post("/api/auth/refresh", headers=bearer(old))
    assert resp.status == 200
    new = (await resp.json())["session_token"]
    assert new != old
    assert (await client.get("/api/me", headers=bearer(new))).status == 200
    assert (await client.get("/api/me", headers=bearer(old))).status == 401


async def test_logout_revokes(
    client: TestClient, github: FakeGitHubUser, db: async_sessionmaker[AsyncSession]
) -> None:
    token = (await sign_in(client, github, "octocat"))["session_token"]
    resp = await client.post("/api/auth/logout", headers=bearer(token))
    assert resp.status == 200
    resp = await client.get("/api/me", headers=bearer(token))
    assert resp.status == 401
    body = await resp.json()
    assert body["error"] == "invalid_token"
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    async with db() as session:
        assert len((await session.scalars(select(RevokedSession))).all()) >= 1


async def test_expired_forged_and_wrong_kind_tokens_are_refused(
    client: TestClient, github: FakeGitHubUser
) -> None:
    user_id = (await sign_in(client, github, "octocat"))["user"]["id"]
    past = datetime.now(UTC) - timedelta(hours=25)
    expired, _ = sessions.issue(SESSION_SECRET.encode(), user_id, past)
    forged, _ = sessions.issue(b"another-secret-another-secret-000", user_id, datetime.now(UTC))
    good = jwt.decode(
        sessions.issue(SESSION_SECRET.encode(), user_id, datetime.now(UTC))[0],
        SESSION_SECRET,
        algorithms=["HS256"],
    )
    wrong_kind = jwt.encode({**good, "typ": "oauth_state"}, SESSION_SECRET)
    none_alg = jwt.encode(good, None, algorithm="none")
    for token in (expired, forged, wrong_kind, none_alg, "garbage", ""):
        resp = await client.get("/api/me", headers=bearer(token) if token else {})
        assert resp.status == 401, token
        assert (await resp.json())["error"] == "invalid_token"


async def test_no_token_text_in_logs(
    client: TestClient, github: FakeGitHubUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    github.expiring = True
    body = await sign_in(client, github, "octocat")
    session_token = body["session_token"]
    await client.get("/api/me", headers=bearer(session_token))
    await client.get("/api/entities", headers=bearer(session_token))
    resp = await client.post("/api/auth/refresh", headers=bearer(session_token))
    renewed = (await resp.json())["session_token"]
    async with client.ws_connect(f"/api/ws?token={renewed}") as ws:
        await ws.receive_json(timeout=5)
    await client.post("/api/auth/github/callback", json={"code": "bad", "state": "bad"})
    text = caplog.text
    assert github.issued, "the fake issued tokens"
    for secret in [*github.issued, session_token, renewed, SESSION_SECRET]:
        assert secret not in text


def test_firefox_redirect_is_the_sha1_of_the_add_on_id(
    make_settings: Any, api_env: dict[str, str]
) -> None:
    """Firefox's identity.getRedirectURL() host is the SHA-1 hex of the add-on id."""
    import hashlib

    settings = make_settings(**{**api_env, "EXTENSION_IDS": f"{EXTENSION_ID},pets@example.org"})
    host = hashlib.sha1(b"pets@example.org").hexdigest()
    assert allowed_redirect(f"https://{host}.extensions.allizom.org/", settings)
    other = hashlib.sha1(b"someone-else@example.org").hexdigest()
    assert not allowed_redirect(f"https://{other}.extensions.allizom.org/", settings)
    assert not allowed_redirect(f"http://{host}.extensions.allizom.org/", settings)
    assert not allowed_redirect(f"https://{host}.extensions.allizom.org:444/", settings)
