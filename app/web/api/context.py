"""Small accessors shared by the API modules (the API is a sub-application under /api)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from app.core.config import Settings
from app.infra.runtime import Runtime

MAX_BODY = 64 * 1024


def runtime(request: web.Request) -> Runtime:
    """The process's shared resources; `config_dict` reaches the parent app from /api."""
    from app.infra.runtime import RUNTIME

    return request.config_dict[RUNTIME]


def settings(request: web.Request) -> Settings:
    """The settings object."""
    from app.infra.runtime import SETTINGS

    return request.config_dict[SETTINGS]


def utc_now() -> datetime:
    """The API's clock (aware UTC)."""
    return datetime.now(UTC)


async def read_limited(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The body, refused with 413 once it passes `limit`, before it is all in memory.

    A sub-application's `client_max_size` does not apply (the request belongs to the root
    application), so the API bounds its bodies here.
    """
    from app.web.api.errors import ApiError

    too_large = ApiError(413, "request_too_large", f"Request bodies are limited to {limit} bytes.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 naming the body."""
    from app.web.api.errors import invalid

    if not request.can_read_body:
        return {}
    raw = await read_limited(request)
    try:
        # orjson refuses nesting deeper than 1024 instead of recursing until RecursionError.
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid("body", "The request body must be JSON (nested at most 1024 deep).") from None
    if not isinstance(body, dict):
        raise invalid("body", "The request body must be a JSON object.")
    return body
