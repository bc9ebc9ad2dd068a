"""GitHub App auth: app JWTs from gidgethub, cached installation tokens, API clients.

Installation tokens last an hour. One cache per process keeps a token per installation and
refreshes it about five minutes before it expires; concurrent callers share one refresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from gidgethub import HTTPException
from gidgethub import aiohttp as gh_aiohttp
from gidgethub.apps import get_jwt

from app.core.config import Settings

log = logging.getLogger(__name__)

USER_AGENT = "tamagitto"
REFRESH_MARGIN = timedelta(minutes=5)
ETAG_CACHE_SIZE = 2048


class AppNotConfigured(Exception):
    """APP_ID or the private key is missing; the App cannot call GitHub yet."""


class LRUCache(OrderedDict[str, Any]):
    """A bounded mapping for gidgethub's ETag cache (a 304 costs no rate limit)."""

    def __init__(self, maxsize: int = ETAG_CACHE_SIZE) -> None:
        super().__init__()
        self.maxsize = maxsize

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)


@dataclass
class CachedToken:
    """An installation token and when GitHub says it expires."""

    token: str
    expires_at: datetime

    def fresh(self, now: datetime) -> bool:
        """Still usable for a while, so a job never starts with a token about to die."""
        return now < self.expires_at - REFRESH_MARGIN


class GitHubClient(gh_aiohttp.GitHubAPI):
    """gidgethub's aiohttp client, plus: a 401 refreshes the installation token once."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        tokens: InstallationTokens | None = None,
        installation_id: int | None = None,
        oauth_token: str | None = None,
        cache: LRUCache | None = None,
    ) -> None:
        super().__init__(
            session, USER_AGENT, oauth_token=oauth_token, cache=cache, base_url=base_url
        )
        self._tokens = tokens
        self.installation_id = installation_id

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Always send the current token, so a retry after a refresh uses the new one."""
        if self._tokens is not None and self.installation_id is not None:
            token = await self._tokens.get(self.installation_id)
            headers = {**headers, "authorization": f"token {token}"}
        return await super()._request(method, url, headers, body)

    async def handle_rate_limit_error(
        self, *, method: str, url: str, exception: HTTPException, attempt: int
    ) -> bool:
        """401 once: the token was revoked or expired early; refresh and retry."""
        if (
            exception.status_code == 401
            and attempt == 1
            and self._tokens is not None
            and self.installation_id is not None
        ):
            log.info(
                "GitHub said 401 for installation %s; refreshing its token", self.installation_id
            )
            await self._tokens.get(self.installation_id, force=True)
            return True
        return False


class InstallationTokens:
    """Per-installation token cache with single-flight refresh."""

    def __init__(self, app: GitHubApp) -> None:
        self._app = app
        self._tokens: dict[int, CachedToken] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.refreshes = 0

    async def get(self, installation_id: int, *, force: bool = False) -> str:
        """A token valid for at least REFRESH_MARGIN; one refresh however many callers wait."""
        cached = self._tokens.get(installation_id)
        if cached and not force and cached.fresh(datetime.now(UTC)):
            return cached.token
        lock = self._locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            current = self._tokens.get(installation_id)
            if current and current.fresh(datetime.now(UTC)) and (not force or current != cached):
                return current.token
            new = await self._app.create_installation_token(installation_id)
            self._tokens[installation_id] = new
            self.refreshes += 1
            return new.token

    def forget(self, installation_id: int) -> None:
        """Drop a token (installation deleted or suspended)."""
        self._tokens.pop(installation_id, None)


class GitHubApp:
    """The App's identity on one GitHub (github.com, GHE, or a fake server in tests)."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session
        self.tokens = InstallationTokens(self)
        self.etag_cache = LRUCache()

    @property
    def base_url(self) -> str:
        """REST base URL from settings (GITHUB_API_URL, GHE_HOST, or github.com)."""
        return self.settings.github_api_url

    def jwt(self) -> str:
        """A fresh app JWT (10 minutes, backdated for clock drift by gidgethub)."""
        pem = self.settings.private_key_pem
        if self.settings.app_id is None or pem is None:
            raise AppNotConfigured("APP_ID and PRIVATE_KEY are required to call GitHub")
        return get_jwt(app_id=str(self.settings.app_id), private_key=pem)

    def app_client(self) -> gh_aiohttp.GitHubAPI:
        """A client for /app endpoints; pass `jwt=app.jwt()` on each call."""
        return gh_aiohttp.GitHubAPI(self.session, USER_AGENT, base_url=self.base_url)

    async def create_installation_token(self, installation_id: int) -> CachedToken:
        """POST /app/installations/{id}/access_tokens with an app JWT."""
        data = await self.app_client().post(
            "/app/installations/{installation_id}/access_tokens",
            url_vars={"installation_id": str(installation_id)},
            data=b"",
            jwt=self.jwt(),
        )
        expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
        return CachedToken(str(data["token"]), expires)

    def installation_client(self, installation_id: int) -> GitHubClient:
        """A client acting as the installation, sharing the token and ETag caches."""
        return GitHubClient(
            self.session,
            base_url=self.base_url,
            tokens=self.tokens,
            installation_id=installation_id,
            oauth_token="pending",  # replaced with a cached token on every request
            cache=self.etag_cache,
        )
