"""People who signed in: their row, their encrypted GitHub tokens and the `user` object."""

from __future__ import annotations

import asyncio
import weakref
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.crypto import Keyring
from app.core.keyring import keyring
from app.core.models import User
from app.infra import github_user
from app.web.api import bodies
from app.web.api.context import runtime, settings
from app.web.api.errors import GITHUB_UNAVAILABLE, NOT_CONFIGURED, ApiError, unauthorized

# Refresh a user token this long before GitHub says it expires.
REFRESH_MARGIN = timedelta(minutes=5)
_refresh_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


def token_aad(github_id: int, kind: str) -> bytes:
    """Bind a ciphertext to its owner and purpose, so rows cannot be swapped around."""
    return f"tamagitto:user:{github_id}:{kind}".encode()


def require_keyring(request: web.Request) -> Keyring:
    """The token keyring, or 503 when the server has no way to store tokens safely."""
    ring = keyring(settings(request))
    if ring is None:
        raise ApiError(
            503, NOT_CONFIGURED, "Token storage is not configured: set TOKEN_ENCRYPTION_KEYS."
        )
    return ring


def store_tokens(ring: Keyring, user: User, tokens: github_user.OAuthTokens) -> None:
    """Encrypt both tokens under the newest key (one key id covers both columns)."""
    kid, sealed = ring.encrypt(tokens.access_token, aad=token_aad(user.github_id, "access"))
    user.token_key_id = kid
    user.token_ciphertext = sealed
    user.token_expires_at = tokens.expires_at
    if tokens.refresh_token:
        _, sealed_refresh = ring.encrypt(
            tokens.refresh_token, aad=token_aad(user.github_id, "refresh")
        )
        user.refresh_token_ciphertext = sealed_refresh
        user.refresh_token_expires_at = tokens.refresh_expires_at
    else:
        user.refresh_token_ciphertext = None
        user.refresh_token_expires_at = None


def read_token(ring: Keyring, user: User, kind: str = "access") -> str | None:
    """Decrypt one of the user's tokens; None when absent or unreadable with today's keys."""
    blob = user.token_ciphertext if kind == "access" else user.refresh_token_ciphertext
    if blob is None or user.token_key_id is None:
        return None
    try:
        return ring.decrypt(user.token_key_id, blob, aad=token_aad(user.github_id, kind))
    except Exception:  # unknown key id or tampered ciphertext: the person signs in again
        return None


async def upsert_user(
    session: AsyncSession, ring: Keyring, profile: dict[str, Any], tokens: github_user.OAuthTokens
) -> User:
    """Create or update the row for this GitHub account with fresh tokens."""
    github_id = int(profile["id"])
    user = await session.scalar(select(User).where(User.github_id == github_id))
    if user is None:
        user = User(github_id=github_id, login=str(profile.get("login") or github_id))
        session.add(user)
    user.login = str(profile.get("login") or user.login)
    user.avatar_url = profile.get("avatar_url")
    user.email = profile.get("email")
    store_tokens(ring, user, tokens)
    await session.flush()
    return user


def user_json(user: User) -> dict[str, Any]:
    """The API's `user` object (`bodies.User`); never includes anything about tokens."""
    return bodies.User(
        id=user.id,
        github_id=user.github_id,
        username=user.login,
        avatar_url=user.avatar_url,
        email=user.email,
    ).json_dict()


def _needs_refresh(user: User, now: datetime) -> bool:
    """Expiring tokens are renewed a little early so a request never carries a dead one."""
    return user.token_expires_at is not None and user.token_expires_at - REFRESH_MARGIN <= now


async def github_token(request: web.Request, user_id: int, now: datetime) -> str:
    """The user's GitHub token, refreshed when it is about to expire; 401 when it is gone."""
    ring = require_keyring(request)
    rt = runtime(request)
    async with rt.sessionmaker() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise unauthorized("This account no longer exists.")
        if not _needs_refresh(user, now):
            token = read_token(ring, user)
            if token is None:
                raise unauthorized("GitHub authorization is missing; sign in again.")
            return token
    lock = _refresh_locks.setdefault(user_id, asyncio.Lock())
    async with lock:
        return await _refresh_token(request, ring, user_id, now)


async def _refresh_token(request: web.Request, ring: Keyring, user_id: int, now: datetime) -> str:
    """Re-read under the lock (another request may have refreshed), then refresh if needed."""
    rt = runtime(request)
    async with rt.sessionmaker.begin() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise unauthorized("This account no longer exists.")
        if not _needs_refresh(user, now):
            token = read_token(ring, user)
            if token:
                return token
        refresh_token = read_token(ring, user, "refresh")
        if refresh_token is None:
            raise unauthorized("GitHub authorization expired; sign in again.")
        try:
            tokens = await github_user.refresh(rt.http, rt.settings, refresh_token, now)
        except github_user.GitHubRefused:
            raise unauthorized("GitHub authorization expired; sign in again.") from None
        except github_user.GitHubUnavailable:
            raise ApiError(502, GITHUB_UNAVAILABLE, "GitHub is not answering; try again.") from None
        store_tokens(ring, user, tokens)
        return tokens.access_token
