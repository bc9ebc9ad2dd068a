"""`github_app_authorization` events: a user revoked the App's authorization."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI
from sqlalchemy import select

from app.core.models import User
from app.infra.bus import EventBus, session_ended
from app.infra.job_context import JobContext
from app.jobs import inventory

router = routing.Router()


@router.register("github_app_authorization", action="revoked")
async def authorization_revoked(
    event: sansio.Event, gh: GitHubAPI | None, *args: Any, ctx: JobContext, **kwargs: Any
) -> None:
    """Delete that user's stored tokens and close their open WebSockets in every web process.

    Their sessions then fail at the next GitHub call; a socket would otherwise keep streaming
    private repositories' events until its next access refresh.
    """
    github_id = int(event.data["sender"]["id"])
    async with ctx.sessionmaker.begin() as session:
        await inventory.forget_user_tokens(session, github_id)
        user_ids = list(await session.scalars(select(User.id).where(User.github_id == github_id)))
    bus: EventBus = ctx.bus
    for user_id in user_ids:
        await bus.publish(session_ended(user_id))
