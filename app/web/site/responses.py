"""Responses of the site: the Content-Security-Policies, cache policies and validated responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

# Pages we render: scripts and styles only from this origin, images also as data: URIs (the
# sprites), forms only back to us. The setup page widens form-action to GitHub (see setup_csp).
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

# Any other HTML the app sends (other features' pages) gets at least this.
DEFAULT_CSP: Final = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

# Pictures and badges are documents too when opened directly: no scripts in them, ever.
IMAGE_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

IMAGE_CACHE: Final = "public, max-age=2592000, immutable"

BADGE_CACHE: Final = "public, max-age=300"

ASSET_CACHE_VERSIONED: Final = "public, max-age=31536000, immutable"

ASSET_CACHE: Final = "public, max-age=300"

PAGE_CACHE: Final = "no-cache"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def page_headers(csp: str = CSP) -> dict[str, str]:
    """Security headers for a page we render."""
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cache-Control": PAGE_CACHE,
    }


def html_response(body: str, status: int = 200, csp: str = CSP) -> web.Response:
    """An HTML page with our headers, compressed when the client accepts it."""
    response = web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=page_headers(csp),
    )
    response.enable_compression()
    return response


def etag_matches(request: web.Request, etag: str) -> bool:
    """If-None-Match holds this entity tag (weak or strong, or `*`)."""
    header = request.headers.get("If-None-Match", "")
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return f'"{etag}"' in tags or "*" in tags


def cached_response(
    request: web.Request, body: bytes, mime: str, etag: str, cache: str, csp: str | None = None
) -> web.Response:
    """A validated response: 304 when the client already has this version."""
    headers = {"ETag": f'"{etag}"', "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if csp:
        headers["Content-Security-Policy"] = csp
    if etag_matches(request, etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=mime, headers=headers)


async def add_default_csp(request: web.Request, response: web.StreamResponse) -> None:
    """Every HTML response, from any feature, gets a CSP and nosniff unless it set its own."""
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")


def setup_csp(github_url: str) -> str:
    """The site's CSP, with the manifest form allowed to post to GitHub (or GHE)."""
    return CSP.replace("form-action 'self'", f"form-action 'self' {github_url}")
