"""The App's install link: its slug from `GET /app`, asked once."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Final

import aiohttp

from app.core.config import Settings

log = logging.getLogger(__name__)

SLUG_RETRY: Final = 300.0  # seconds before asking GitHub for the App's slug again after a failure

SLUG_TIMEOUT: Final = aiohttp.ClientTimeout(total=3)


@dataclass
class AppSlug:
    """The App's slug from `GET /app`, asked once; a failure is retried after a while."""

    slug: str | None = None
    failed_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _may_ask(self) -> bool:
        """Never asked, or the last failure is old enough to try again."""
        return self.failed_at is None or time.monotonic() - self.failed_at > SLUG_RETRY

    async def get(self, settings: Settings, http: aiohttp.ClientSession) -> str | None:
        """The slug, or None when the App isn't configured or GitHub can't tell us now."""
        if self.slug is not None or not settings.app_configured:
            return self.slug
        async with self.lock:
            if self.slug is None and self._may_ask():
                self.slug = await fetch_app_slug(settings, http)
                if self.slug is None:
                    self.failed_at = time.monotonic()
        return self.slug


async def fetch_app_slug(settings: Settings, http: aiohttp.ClientSession) -> str | None:
    """Ask GitHub (or GHE) for the App's slug with an App JWT; log and give up on any error."""
    from gidgethub import apps

    assert settings.app_id is not None and settings.private_key_pem is not None
    token = apps.get_jwt(app_id=str(settings.app_id), private_key=settings.private_key_pem)
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "User-Agent": "tamagitto",
    }
    try:
        async with http.get(
            f"{settings.github_api_url}/app", headers=headers, timeout=SLUG_TIMEOUT
        ) as resp:
            resp.raise_for_status()
            slug = (await resp.json()).get("slug")
            return slug if isinstance(slug, str) and slug else None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("site: could not read the App's slug from GitHub (%s)", type(exc).__name__)
        return None


def install_link(settings: Settings, slug: str | None) -> tuple[str, str]:
    """(href, label) of the landing page's install button."""
    if not settings.app_configured:
        return "/setup", "Set up this server"
    if slug is None:
        return f"{settings.github_url}/apps", "Install on GitHub"
    return f"{settings.github_url}/apps/{slug}/installations/new", "Install on GitHub"
