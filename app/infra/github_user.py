"""GitHub calls made with a person's own token: the OAuth exchange, `/user` and their access.

Errors are mapped to what the API can say about them. GitHub answers a failed code exchange
with 200 and `{"error": "bad_verification_code"}`, so the body is checked, not only the status.
No function here logs or raises with a token in its text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import gidgethub
from gidgethub.aiohttp import GitHubAPI

from app.core.config import Settings

USER_AGENT = "tamagitto"
PER_PAGE = 100


class GitHubRefused(Exception):
    """GitHub said no: a bad code, a revoked token (401) or a refused refresh."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class GitHubUnavailable(Exception):
    """GitHub could not be reached or answered 5xx; the request may be retried."""


@dataclass(frozen=True, slots=True)
class OAuthTokens:
    """What the token endpoint returned; expiries only when the App issues expiring tokens."""

    access_token: str
    expires_at: datetime | None
    refresh_token: str | None
    refresh_expires_at: datetime | None

    def __repr__(self) -> str:
        return f"OAuthTokens(expires_at={self.expires_at!r}, <tokens redacted>)"


def _expiry(now: datetime, seconds: Any) -> datetime | None:
    """`expires_in` style seconds to an absolute time."""
    try:
        return now + timedelta(seconds=int(seconds)) if seconds else None
    except (TypeError, ValueError):
        return None


def parse_tokens(body: dict[str, Any], now: datetime) -> OAuthTokens:
    """Read a token response; `{"error": …}` (sent with 200) becomes GitHubRefused."""
    if "error" in body or not isinstance(body.get("access_token"), str):
        raise GitHubRefused(str(body.get("error") or "no access_token in the response"))
    return OAuthTokens(
        access_token=body["access_token"],
        expires_at=_expiry(now, body.get("expires_in")),
        refresh_token=body.get("refresh_token") or None,
        refresh_expires_at=_expiry(now, body.get("refresh_token_expires_in")),
    )


async def _token_request(
    http: aiohttp.ClientSession, settings: Settings, form: dict[str, str], now: datetime
) -> OAuthTokens:
    """POST to the web host's `/login/oauth/access_token` asking for JSON."""
    assert settings.github_client_id and settings.github_client_secret
    data = {
        "client_id": settings.github_client_id,
        "client_secret": settings.github_client_secret.get_secret_value(),
        **form,
    }
    url = f"{settings.github_url}/login/oauth/access_token"
    try:
        async with http.post(
            url, data=data, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
        ) as resp:
            if resp.status >= 500:
                raise GitHubUnavailable(f"token endpoint answered {resp.status}")
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise GitHubUnavailable(f"token endpoint: {type(exc).__name__}") from None
    if not isinstance(body, dict):
        raise GitHubUnavailable("token endpoint answered something that is not an object")
    return parse_tokens(body, now)


async def exchange_code(
    http: aiohttp.ClientSession, settings: Settings, code: str, redirect_uri: str, now: datetime
) -> OAuthTokens:
    """Trade the authorization code for the user's tokens."""
    return await _token_request(http, settings, {"code": code, "redirect_uri": redirect_uri}, now)


async def refresh(
    http: aiohttp.ClientSession, settings: Settings, refresh_token: str, now: datetime
) -> OAuthTokens:
    """Renew an expiring user token (GitHub Apps with token expiration enabled)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await _token_request(http, settings, form, now)


def client(http: aiohttp.ClientSession, settings: Settings, token: str) -> GitHubAPI:
    """A gidgethub client speaking as the user."""
    return GitHubAPI(http, USER_AGENT, oauth_token=token, base_url=settings.github_api_url)


async def call(coro: Any) -> Any:
    """Await a gidgethub call, mapping its failures onto GitHubRefused/GitHubUnavailable."""
    try:
        return await coro
    except gidgethub.BadRequest as exc:
        status = int(exc.status_code)
        raise GitHubRefused(f"GitHub answered {status}", status) from None
    except (gidgethub.GitHubBroken, aiohttp.ClientError, TimeoutError) as exc:
        raise GitHubUnavailable(type(exc).__name__) from None
    except gidgethub.HTTPException as exc:
        raise GitHubUnavailable(f"GitHub answered {int(exc.status_code)}") from None


async def get_user(gh: GitHubAPI) -> dict[str, Any]:
    """`GET /user`."""
    user: dict[str, Any] = await call(gh.getitem("/user"))
    return user


async def _collect(gh: GitHubAPI, url: str, key: str) -> list[dict[str, Any]]:
    """Every page of a `{total_count, <key>: [...]}` listing."""

    async def gather() -> list[dict[str, Any]]:
        return [item async for item in gh.getiter(url, iterable_key=key)]

    items: list[dict[str, Any]] = await call(gather())
    return items


async def accessible_repositories(gh: GitHubAPI) -> list[dict[str, Any]]:
    """Every repository the user can reach through an installation of this App.

    `GET /user/installations` lists the App's installations the user can access, and each
    installation's `/repositories` lists the repositories with the user's `permissions`.
    """
    installations = await _collect(gh, f"/user/installations?per_page={PER_PAGE}", "installations")
    listings = await asyncio.gather(
        *(
            _collect(
                gh,
                f"/user/installations/{inst['id']}/repositories?per_page={PER_PAGE}",
                "repositories",
            )
            for inst in installations
        )
    )
    repos: list[dict[str, Any]] = []
    for inst, listing in zip(installations, listings, strict=True):
        for repo in listing:
            repos.append({**repo, "installation_id": inst["id"]})
    return repos


async def repository_permissions(gh: GitHubAPI, full_name: str) -> dict[str, bool]:
    """The user's current permissions on one repository (`GET /repos/{owner}/{repo}`)."""
    repo = await call(gh.getitem(f"/repos/{full_name}"))
    perms = repo.get("permissions") or {}
    return {k: bool(v) for k, v in perms.items()}
