"""Webhook handlers: one module per event family, composed into one router (as bedevere does)."""

from __future__ import annotations

import json
import logging
from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app.core.logs import request_id
from app.infra.github import GitHubApp
from app.infra.job_context import JobContext
from app.jobs.handlers import (
    authorization,
    check_run,
    installation,
    installation_repositories,
    meta,
    pull_request,
    push,
    repository,
)
from app.jobs.handlers.base import installation_id

log = logging.getLogger(__name__)

router = routing.Router(
    installation.router,
    installation_repositories.router,
    repository.router,
    authorization.router,
    meta.router,
    push.router,
    pull_request.router,
    check_run.router,
)


def client_for(ctx: JobContext, data: dict[str, Any]) -> GitHubAPI | None:
    """An installation client when the App is configured and the event names an installation."""
    app: GitHubApp | None = ctx.github
    inst = installation_id(data)
    if app is None or inst is None or not app.settings.app_configured:
        return None
    return app.installation_client(inst)


async def process_event(ctx: JobContext, event: str, delivery_id: str, body: str) -> None:
    """Job: route one stored delivery. Events with no handler are dropped quietly."""
    token = request_id.set(delivery_id)
    try:
        data = json.loads(body)
        gh_event = sansio.Event(data, event=event, delivery_id=delivery_id)
        handled = bool(router.fetch(gh_event))
        if not handled:
            log.debug("no handler for %s.%s; dropped", event, data.get("action"))
            return
        await router.dispatch(gh_event, client_for(ctx, data), ctx=ctx)
    finally:
        request_id.reset(token)
