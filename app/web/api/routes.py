"""The user API under `/api`: sign-in, sessions, repositories, pets, analyses, WebSocket.

`setup(app)` mounts a sub-application, so the API's middlewares (CORS, rate limits, the error
shape) apply to `/api` only, and starts the WebSocket hub with the app.
"""

from __future__ import annotations

from aiohttp import web

from app.web.api import analysis, auth, entities, hub, openapi, public, repositories, ws
from app.web.api.access import LOCAL as ACCESS_CACHE
from app.web.api.access import LocalCache
from app.web.api.context import MAX_BODY
from app.web.api.cors import cors_middleware
from app.web.api.errors import error_middleware
from app.web.api.ratelimit import DEFAULT_LIMITS, LIMITS, LocalCounter, ratelimit_middleware
from app.web.api.ratelimit import LOCAL as RATE_COUNTER


def build() -> web.Application:
    """The `/api` sub-application with every route."""
    api = web.Application(
        middlewares=[cors_middleware, ratelimit_middleware, error_middleware],
        client_max_size=MAX_BODY,
    )
    for module in (auth, repositories, entities, analysis, public, ws, openapi):
        api.add_routes(module.routes())
    return api


def setup(app: web.Application) -> None:
    """Mount `/api` and tie the WebSocket hub to the app's lifetime."""
    app[LIMITS] = dict(DEFAULT_LIMITS)
    app[ACCESS_CACHE] = LocalCache()
    app[RATE_COUNTER] = LocalCounter()
    app[hub.HUB] = hub.Hub()
    app.on_startup.append(hub.start_hub)
    app.on_shutdown.append(hub.stop_hub)
    app.add_subapp("/api", build())
