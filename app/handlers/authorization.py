"""`github_app_authorization` events: a user revoked the App's authorization."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app import inventory
from app.handlers.base import sessions

router = routing.Router()


@router.register("github_app_authorization", action="revoked")
async def authorization_revoked(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: dict[str, Any], **kwargs: Any
) -> None:
    """Delete that user's stored tokens; their sessions then fail at the next GitHub call."""
    async with sessions(ctx).begin() as session:
        await inventory.forget_user_tokens(session, int(event.data["sender"]["id"]))
