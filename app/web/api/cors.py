"""CORS for the Chrome extension and the site only; everything else gets no CORS headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from app.core.config import Settings
from app.web.api.context import settings
from app.web.api.errors import ApiError, error_response

ALLOW_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, X-Request-Id"
EXPOSE_HEADERS = (
    "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-Id"
)
MAX_AGE = "600"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def allowed_origins(config: Settings) -> frozenset[str]:
    """`chrome-extension://<id>` for EXTENSION_IDS, and PUBLIC_URL's origin."""
    public = urlsplit(config.public_url)
    origins = {f"{public.scheme}://{public.netloc}".lower()}
    origins |= {f"chrome-extension://{i.lower()}" for i in config.extension_id_list}
    return frozenset(origins)


def _is_preflight(request: web.Request) -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer preflights for allowed origins and mark their responses readable."""
    origin = request.headers.get("Origin")
    allowed = origin is not None and origin.lower() in allowed_origins(settings(request))
    if _is_preflight(request):
        if not allowed:
            return error_response(
                ApiError(403, "origin_not_allowed", "This origin may not call the API.")
            )
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Origin": str(origin),
                "Access-Control-Allow-Methods": ALLOW_METHODS,
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": MAX_AGE,
                "Vary": "Origin",
            },
        )
    response = await handler(request)
    if allowed and not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = str(origin)
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        response.headers["Vary"] = "Origin"
    return response
