"""`app/jobs/handlers/events.py`: the composed router, its client, and the delivery's request id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from app.core.logs import request_id
from app.core.models import Repository
from app.infra.job_context import JobContext
from app.jobs.handlers import events
from tests.conftest import example
from tests.jobs.handlers.helpers import rows, run


async def test_events_without_handlers_are_dropped(ctx: dict[str, Any]) -> None:
    await run(ctx, "star", example("star", "created"))
    await run(ctx, "an_event_nobody_handles", {"action": "x"})
    assert await rows(ctx, Repository) == []


async def test_a_delivery_is_handled_under_its_request_id(
    ctx: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Log lines of a delivery carry its id; an app-level event gets no installation client."""
    seen: list[tuple[str, GitHubAPI | None]] = []
    router = routing.Router()

    @router.register("ping")
    async def ping(event: sansio.Event, gh: GitHubAPI | None, *args: Any, **kwargs: Any) -> None:
        seen.append((request_id.get(), gh))

    monkeypatch.setattr(events, "router", router)
    body = json.dumps({"zen": "Keep it simple."})
    await events.process_event(JobContext(ctx), "ping", "delivery-7", body)
    assert seen == [("delivery-7", None)]
    assert request_id.get() == "-"


async def test_a_client_only_for_events_naming_an_installation(ctx: dict[str, Any]) -> None:
    assert events.client_for(JobContext(ctx), {"zen": "x"}) is None
    assert events.client_for(JobContext(ctx), {"installation": {"id": 5}}) is not None
