"""What a person may see: derived from their own GitHub token, cached for five minutes.

The source of truth is GitHub (`/user/installations` and each installation's repositories), so
access follows GitHub's own rules, including team and org changes, within the cache's lifetime.
The cache lives in Redis when there is one (shared by every web process) and in this process
otherwise. Only repository facts are cached, never a token.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Repository
from app.infra import github_user
from app.web.api.context import runtime, utc_now
from app.web.api.errors import GITHUB_UNAVAILABLE, INSUFFICIENT_PERMISSIONS, ApiError, unauthorized
from app.web.api.users import github_token

log = logging.getLogger(__name__)

ACCESS_TTL = 300
LOCAL_CACHE_SIZE = 10_000
KEEP = (
    "id",
    "full_name",
    "private",
    "language",
    "default_branch",
    "created_at",
    "updated_at",
    "pushed_at",
    "archived",
    "permissions",
    "installation_id",
)


@dataclass(frozen=True)
class Access:
    """The repositories (by GitHub id) a user reaches through this App, with permissions."""

    user_id: int
    repos: dict[int, dict[str, Any]] = field(default_factory=dict)

    def can_push(self, github_id: int) -> bool:
        """Push or admin rights, as far as the cached listing knows."""
        perms = (self.repos.get(github_id) or {}).get("permissions") or {}
        return bool(perms.get("push") or perms.get("admin"))


def trim(repo: dict[str, Any]) -> dict[str, Any]:
    """Keep only what the API shows or decides with."""
    out = {k: repo.get(k) for k in KEEP}
    out["owner_login"] = (repo.get("owner") or {}).get("login") or str(repo["full_name"]).split(
        "/"
    )[0]
    return out


class LocalCache:
    """Embedded mode's cache: bounded, oldest entries go first."""

    def __init__(self, size: int = LOCAL_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[float, list[dict[str, Any]]]] = OrderedDict()

    def get(self, user_id: int) -> list[dict[str, Any]] | None:
        """A fresh entry or None."""
        hit = self._items.get(user_id)
        if hit is None or hit[0] < time.monotonic():
            self._items.pop(user_id, None)
            return None
        return hit[1]

    def put(self, user_id: int, repos: list[dict[str, Any]]) -> None:
        """Store for ACCESS_TTL seconds."""
        self._items[user_id] = (time.monotonic() + ACCESS_TTL, repos)
        self._items.move_to_end(user_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, user_id: int) -> None:
        """Forget a user (sign-in, sign-out)."""
        self._items.pop(user_id, None)


LOCAL = web.AppKey("tamagitto.api.access_cache", LocalCache)


def _key(user_id: int) -> str:
    return f"tamagitto:access:{user_id}"


async def _cache_get(request: web.Request, user_id: int) -> list[dict[str, Any]] | None:
    """Redis first when configured; a Redis hiccup means a fresh GitHub listing, not a 500."""
    redis: Redis | None = runtime(request).redis
    if redis is None:
        return request.config_dict[LOCAL].get(user_id)
    try:
        raw = await redis.get(_key(user_id))
    except Exception as exc:
        log.warning("access cache unavailable (%s)", type(exc).__name__)
        return None
    return None if raw is None else json.loads(raw)


async def _cache_put(request: web.Request, user_id: int, repos: list[dict[str, Any]]) -> None:
    """Write with the TTL; failures only cost a later GitHub call."""
    redis: Redis | None = runtime(request).redis
    if redis is None:
        request.config_dict[LOCAL].put(user_id, repos)
        return
    try:
        await redis.set(_key(user_id), json.dumps(repos), ex=ACCESS_TTL)
    except Exception as exc:
        log.warning("access cache unavailable (%s)", type(exc).__name__)


async def forget(request: web.Request, user_id: int) -> None:
    """Drop a user's cached access (after sign-in, so new installations show at once)."""
    await drop_cached(runtime(request).redis, request.config_dict[LOCAL], user_id)


async def drop_cached(redis: Redis | None, local: LocalCache, user_id: int) -> None:
    """Forget a user's access in the shared cache (Redis) or this process's one."""
    if redis is None:
        local.drop(user_id)
        return
    try:
        await redis.delete(_key(user_id))
    except Exception as exc:
        log.warning("access cache unavailable (%s)", type(exc).__name__)


async def fetch(request: web.Request, user_id: int) -> list[dict[str, Any]]:
    """Ask GitHub, as the user, which repositories they reach through the App."""
    rt = runtime(request)
    token = await github_token(request, user_id, utc_now())
    gh = github_user.client(rt.http, rt.settings, token)
    try:
        repos = await github_user.accessible_repositories(gh)
    except github_user.GitHubRefused as exc:
        if exc.status == 401:
            raise unauthorized(
                "GitHub no longer accepts your authorization; sign in again."
            ) from None
        raise ApiError(
            502, GITHUB_UNAVAILABLE, f"GitHub refused the listing ({exc.reason})."
        ) from None
    except github_user.GitHubUnavailable:
        raise ApiError(502, GITHUB_UNAVAILABLE, "GitHub is not answering; try again.") from None
    return [trim(r) for r in repos]


async def access_for(request: web.Request, user_id: int) -> Access:
    """The user's access, from the cache or from GitHub."""
    repos = await _cache_get(request, user_id)
    if repos is None:
        repos = await fetch(request, user_id)
        await _cache_put(request, user_id, repos)
    return Access(user_id, {int(r["id"]): r for r in repos})


async def visible_repositories(session: AsyncSession, access: Access) -> list[Repository]:
    """The known repository rows a user can access."""
    if not access.repos:
        return []
    rows = await session.scalars(
        select(Repository).where(Repository.github_id.in_(list(access.repos)))
    )
    return list(rows)


def may_view(access: Access | None, repository: Repository) -> bool:
    """Public pets are public; private ones need access through the App."""
    if not repository.private:
        return True
    return access is not None and repository.github_id in access.repos


async def fresh_permissions(
    request: web.Request, access: Access, full_name: str
) -> dict[str, bool]:
    """The signed-in person's rights on a repository, asked of GitHub now.

    Changes check rights afresh because the access cache may be 5 minutes old. A revoked
    authorization is a 401; a repository GitHub refuses to show is no rights at all.
    """
    rt = runtime(request)
    token = await github_token(request, access.user_id, utc_now())
    gh = github_user.client(rt.http, rt.settings, token)
    try:
        return await github_user.repository_permissions(gh, full_name)
    except github_user.GitHubRefused as exc:
        if exc.status == 401:
            raise unauthorized(
                "GitHub no longer accepts your authorization; sign in again."
            ) from None
        return {}
    except github_user.GitHubUnavailable:
        raise ApiError(502, GITHUB_UNAVAILABLE, "GitHub is not answering; try again.") from None


async def require_push(request: web.Request, access: Access, full_name: str) -> None:
    """Push or admin rights, checked afresh, before a change to the pet."""
    perms = await fresh_permissions(request, access, full_name)
    if not (perms.get("push") or perms.get("admin")):
        raise ApiError(
            403,
            INSUFFICIENT_PERMISSIONS,
            "This needs push or admin rights on the repository.",
            details={"repository": full_name},
        )
