"""Small accessors shared by the API modules (the API is a sub-application under /api)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from app.config import Settings
from app.runtime import Runtime


def runtime(request: web.Request) -> Runtime:
    """The process's shared resources; `config_dict` reaches the parent app from /api."""
    from app.web import RUNTIME

    return request.config_dict[RUNTIME]


def settings(request: web.Request) -> Settings:
    """The settings object."""
    from app.web import SETTINGS

    return request.config_dict[SETTINGS]


def utc_now() -> datetime:
    """The API's clock (aware UTC)."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset, or None."""
    return None if value is None else value.isoformat()


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 naming the body."""
    from app.api.errors import invalid

    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise invalid("body", "The request body must be JSON.") from None
    if not isinstance(body, dict):
        raise invalid("body", "The request body must be a JSON object.")
    return body
