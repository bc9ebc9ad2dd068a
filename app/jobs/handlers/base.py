"""What every handler shares: the clock, the installation of a payload, repository lookups."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from gidgethub import GitHubException
from gidgethub.abc import GitHubAPI

log = logging.getLogger(__name__)


def now() -> datetime:
    """The handlers' clock (rules themselves take `now` as an argument)."""
    return datetime.now(UTC)


def installation_id(data: dict[str, Any]) -> int | None:
    """The installation a payload belongs to (absent for some app-level events)."""
    inst = data.get("installation") or {}
    return int(inst["id"]) if inst.get("id") is not None else None


async def with_language(gh: GitHubAPI | None, repo: dict[str, Any]) -> dict[str, Any]:
    """Installation payloads carry no language: fetch the repository; None means blob."""
    if repo.get("language") or gh is None:
        return repo
    try:
        full = await gh.getitem("/repos/{+full_name}", url_vars={"full_name": repo["full_name"]})
    except (GitHubException, OSError, TimeoutError) as exc:
        log.warning(
            "could not fetch %s for its language (%s); using the blob species",
            repo.get("full_name"),
            exc,
        )
        return repo
    return {
        **repo,
        **{
            k: full.get(k)
            for k in ("language", "default_branch", "archived")
            if full.get(k) is not None
        },
    }
