"""Sign-in through the GitHub App's user authorization (OAuth web flow) and the session routes."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from aiohttp import web
from pydantic import Field
from sqlalchemy.exc import IntegrityError

from app.core.config import Settings
from app.core.models import RevokedSession, User
from app.infra import github_user
from app.web.api import access, sessions
from app.web.api.context import json_body, runtime, settings, utc_now
from app.web.api.errors import (
    GITHUB_UNAVAILABLE,
    INVALID_CODE,
    INVALID_STATE,
    NOT_CONFIGURED,
    ApiError,
    invalid,
    unauthorized,
)
from app.web.api.params import Params, Text, parse
from app.web.api.users import require_keyring, upsert_user, user_json

STATE_TTL = timedelta(minutes=10)
STATE_TYPE = "oauth_state"
STATE_PREFIX = "state:"
CHROMIUM_APP = ".chromiumapp.org"
FIREFOX_APP = ".extensions.allizom.org"
MAX_URI = 2048
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


class InitiateBody(Params):
    """`POST /auth/github/initiate` body."""

    redirect_uri: Text = Field(max_length=MAX_URI)


class CallbackBody(Params):
    """`POST /auth/github/callback` body."""

    code: Text = Field(max_length=512)
    state: Text = Field(max_length=4096)


def _origin(parts: Any) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in."""
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def firefox_redirect_hosts(config: Settings) -> set[str]:
    """Firefox's `identity.getRedirectURL()` host is the SHA-1 of the add-on id, in hex."""
    return {hashlib.sha1(i.encode()).hexdigest() for i in config.extension_id_list}


def allowed_redirect(uri: str, config: Settings) -> bool:
    """An extension's redirect URL from EXTENSION_IDS (Chrome's chromiumapp.org, Firefox's
    extensions.allizom.org), or a page under PUBLIC_URL.

    Parsing rejects the usual open-redirect tricks: credentials in the URL, backslashes,
    whitespace, `..` segments, look-alike hosts and other ports.
    """
    if len(uri) > MAX_URI or _UNSAFE.search(uri):
        return False
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or "/../" in f"{parts.path}/":
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host.endswith(CHROMIUM_APP) and parts.port is None:
        ext_id = host[: -len(CHROMIUM_APP)]
        return ext_id in {i.lower() for i in config.extension_id_list}
    if parts.scheme == "https" and host.endswith(FIREFOX_APP) and parts.port is None:
        return host[: -len(FIREFOX_APP)] in firefox_redirect_hosts(config)
    public = urlsplit(config.public_url)
    if _origin(parts) != _origin(public):
        return False
    base = public.path.rstrip("/")
    return parts.path == base or parts.path.startswith(base + "/")


def make_state(secret: bytes, redirect_uri: str, now: datetime) -> str:
    """A signed, expiring state naming the redirect URI; its jti makes it single-use."""
    claims = {
        "typ": STATE_TYPE,
        "jti": uuid.uuid4().hex,
        "redirect_uri": redirect_uri,
        "iat": int(now.timestamp()),
        "exp": int((now + STATE_TTL).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=sessions.ALGORITHM)


def read_state(secret: bytes, state: str) -> dict[str, Any]:
    """The state's claims, or 400 invalid_state for a forged, expired or foreign value."""
    try:
        claims: dict[str, Any] = jwt.decode(
            state,
            secret,
            algorithms=[sessions.ALGORITHM],
            options={"require": ["exp", "jti", "iat"]},
        )
    except jwt.PyJWTError:
        raise _bad_state("The sign-in state is invalid or expired; start again.") from None
    if claims.get("typ") != STATE_TYPE or not isinstance(claims.get("redirect_uri"), str):
        raise _bad_state("The sign-in state is invalid; start again.")
    return claims


def _bad_state(message: str) -> ApiError:
    return ApiError(400, INVALID_STATE, message, details={"parameter": "state"})


async def consume_state(request: web.Request, claims: dict[str, Any]) -> None:
    """Record the state as used; a second use (a replay) is refused, in every process."""
    row = RevokedSession(
        jti=STATE_PREFIX + str(claims["jti"]),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )
    try:
        async with runtime(request).sessionmaker.begin() as session:
            session.add(row)
    except IntegrityError:
        raise _bad_state("This sign-in state was already used; start again.") from None


def _require_client(config: Settings) -> str:
    """The App's OAuth client id, or 503 when the App is not set up for sign-in."""
    if not config.github_client_id or config.github_client_secret is None:
        raise ApiError(
            503,
            NOT_CONFIGURED,
            "Sign-in is not configured: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET.",
        )
    return config.github_client_id


async def initiate(request: web.Request) -> web.Response:
    """POST /auth/github/initiate: the URL to send the person to, and its state."""
    config = settings(request)
    client_id = _require_client(config)
    secret = sessions.require_secret(request)
    redirect_uri = parse(InitiateBody, await json_body(request)).redirect_uri
    if not allowed_redirect(redirect_uri, config):
        raise invalid(
            "redirect_uri",
            "`redirect_uri` must be this extension's chromiumapp.org URL or a page of this site.",
        )
    state = make_state(secret, redirect_uri, utc_now())
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "state": state})
    return web.json_response(
        {"oauth_url": f"{config.github_url}/login/oauth/authorize?{query}", "state": state}
    )


async def _exchange(request: web.Request, code: str, redirect_uri: str) -> Any:
    """Code to tokens to profile; GitHub's refusals become 400 invalid_code."""
    rt = runtime(request)
    now = utc_now()
    try:
        tokens = await github_user.exchange_code(rt.http, rt.settings, code, redirect_uri, now)
        gh = github_user.client(rt.http, rt.settings, tokens.access_token)
        profile = await github_user.get_user(gh)
    except github_user.GitHubRefused as exc:
        raise ApiError(
            400,
            INVALID_CODE,
            f"GitHub did not accept the authorization code ({exc.reason}); sign in again.",
            details={"parameter": "code", "github_error": exc.reason},
        ) from None
    except github_user.GitHubUnavailable:
        raise ApiError(502, GITHUB_UNAVAILABLE, "GitHub is not answering; try again.") from None
    return tokens, profile


async def callback(request: web.Request) -> web.Response:
    """POST /auth/github/callback: finish sign-in and start a session."""
    _require_client(settings(request))
    secret = sessions.require_secret(request)
    ring = require_keyring(request)
    body = parse(CallbackBody, await json_body(request))
    code = body.code
    claims = read_state(secret, body.state)
    await consume_state(request, claims)
    tokens, profile = await _exchange(request, code, claims["redirect_uri"])
    async with runtime(request).sessionmaker.begin() as session:
        user = await upsert_user(session, ring, profile, tokens)
        user_doc = user_json(user)
    await access.forget(request, user_doc["id"])
    token, expires = sessions.issue(secret, user_doc["id"], utc_now())
    return web.json_response(
        {"session_token": token, "user": user_doc, "expires_at": expires.isoformat()}
    )


async def refresh(request: web.Request) -> web.Response:
    """POST /auth/refresh: a new 24-hour token; the old one is revoked (rotation)."""
    principal = await sessions.authenticate(request)
    secret = sessions.require_secret(request)
    now = utc_now()
    async with runtime(request).sessionmaker.begin() as session:
        if await session.get(User, principal.user_id) is None:
            raise unauthorized("This account no longer exists.")
        await sessions.revoke(session, principal, now)
    await sessions.announce_ended(request, principal)
    token, expires = sessions.issue(secret, principal.user_id, now)
    return web.json_response({"session_token": token, "expires_at": expires.isoformat()})


async def logout(request: web.Request) -> web.Response:
    """POST /auth/logout: this session is refused from now on."""
    principal = await sessions.authenticate(request)
    async with runtime(request).sessionmaker.begin() as session:
        await sessions.revoke(session, principal, utc_now())
    await access.forget(request, principal.user_id)
    await sessions.announce_ended(request, principal)
    return web.json_response({"message": "Signed out."})


async def me(request: web.Request) -> web.Response:
    """GET /me: the signed-in user."""
    principal = await sessions.authenticate(request)
    async with runtime(request).sessionmaker() as session:
        user = await session.get(User, principal.user_id)
        if user is None:
            raise unauthorized("This account no longer exists.")
        return web.json_response(
            {"user": user_json(user), "session_expires_at": principal.expires_at.isoformat()}
        )


def routes() -> list[web.RouteDef]:
    """The sign-in and session routes."""
    return [
        web.post("/auth/github/initiate", initiate),
        web.post("/auth/github/callback", callback),
        web.post("/auth/refresh", refresh),
        web.post("/auth/logout", logout),
        web.get("/me", me),
    ]
