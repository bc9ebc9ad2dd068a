"""The public site's handlers and wiring: landing page, pet pages, README badges, docs, pet
pictures, assets, a friendly 404 and the setup wizard's pages.

Pages are Jinja2 templates in `site/` (autoescaped; skeleton and `<head>` in `site/partials/`),
rendered through aiohttp-jinja2. The landing page's sections (`landing`, `docs`) are rendered once
at start-up from the code's constants; the pet page reads the public API's shapes (`pet`); the
badge is `badges`. Every HTML response carries a strict Content-Security-Policy (`responses`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup

from app.core.config import Settings
from app.entities import pictures, rules
from app.entities.species import BLOB
from app.entities.sprites import sprite_svg
from app.infra.runtime import RUNTIME, SETTINGS
from app.web.site.badges import badge_look, badge_picture, badge_svg
from app.web.site.docs import DOC_PAGES, config_doc_values, deploy_file, settings_table
from app.web.site.install import AppSlug, install_link
from app.web.site.landing import (
    GALLERY_SEEDS,
    gallery_html,
    life_html,
    scoring_html,
    states_html,
    validity_html,
)
from app.web.site.pet import clean_sha, pet_payload, pet_values, public_pet
from app.web.site.responses import (
    ASSET_CACHE,
    ASSET_CACHE_VERSIONED,
    BADGE_CACHE,
    IMAGE_CACHE,
    IMAGE_CSP,
    Handler,
    add_default_csp,
    cached_response,
    etag_matches,
    html_response,
    setup_csp,
)
from app.web.site.templating import Asset, load_assets, standalone_env, template_env

log = logging.getLogger(__name__)

LOST_ICON: Final = 96  # px, the 404 page's blob


@dataclass
class Site:
    """Assets, the template environment and the landing page's generated sections."""

    assets: dict[str, Asset]
    env: jinja2.Environment
    sections: dict[str, object]
    app_slug: AppSlug = field(default_factory=AppSlug)
    live: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Site:
        """Read site/ and render the landing page's sections from the code's constants."""
        sections: dict[str, object] = {
            "GALLERY_HTML": gallery_html(),
            "STATES_HTML": states_html(),
            "LIFE_HTML": life_html(),
            "SCORING_HTML": scoring_html(),
            "VALIDITY_HTML": validity_html(),
            **config_doc_values(),
            "SETTINGS_TABLE": settings_table(),
            "COMPOSE_YAML": deploy_file("compose.yaml"),
            "CADDYFILE": deploy_file("Caddyfile"),
        }
        assets = load_assets()
        return cls(assets, template_env(assets), sections)


SITE: Final = web.AppKey("site", Site)


def site_of(request: web.Request) -> Site:
    """The site built at start-up."""
    return request.app[SITE]


def render_page(request: web.Request, name: str, values: Mapping[str, object]) -> str:
    """A full page through aiohttp-jinja2: the template with the sections and these values."""
    context = {**site_of(request).sections, **values}
    return aiohttp_jinja2.render_string(name, request, context)


async def landing(request: web.Request) -> web.Response:
    """`/`: what Tamagitto is, the install button, the gallery, the rules, the privacy stance."""
    site, settings = site_of(request), request.app[SETTINGS]
    slug = await site.app_slug.get(settings, request.app[RUNTIME].http)
    href, label = install_link(settings, slug)
    values = {"INSTALL_URL": href, "INSTALL_LABEL": label}
    return html_response(render_page(request, "index.html", values))


def not_found_page(request: web.Request, what: str = "This page doesn't exist.") -> web.Response:
    """The friendly 404: same look as the site, status 404, nothing about why (privacy)."""
    values = {"MESSAGE": what, "LOST_SPRITE": Markup(lost_sprite())}
    body = render_page(request, "404.html", values)
    return html_response(body, status=404)


@functools.cache
def lost_sprite() -> str:
    """The 404 page's picture: a poor little blob, drawn like every pet (was an emoji)."""
    from app.web.site.card import icon_sprite

    svg = sprite_svg(BLOB, "blob", rules.POOR, GALLERY_SEEDS[BLOB], rules.ALIVE)
    return icon_sprite(svg, LOST_ICON)


async def pet_page(request: web.Request) -> web.Response:
    """`/pets/{owner}/{repo}`: a public repository's pet; private or unknown gives the 404 page."""
    full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
    settings = request.app[SETTINGS]
    highlight = clean_sha(request.query.get("sha"))
    async with request.app[RUNTIME].sessionmaker() as session:
        found = await public_pet(session, full_name)
        if found is None:
            return not_found_page(request, "There is no public pet for this repository.")
        repository, entity = found
        payload = await pet_payload(session, repository, entity, datetime.now(UTC), highlight)
    values = pet_values(settings, payload, repository, site_of(request).live)
    return html_response(render_page(request, "pet.html", values))


async def badge(request: web.Request) -> web.Response:
    """`/badge/{owner}/{repo}.svg`: 5-minute cache, ETag; `?style=flat|pet|card`."""
    full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
    style = request.query.get("style", "flat")
    async with request.app[RUNTIME].sessionmaker() as session:
        found = await public_pet(session, full_name)
        repository, entity = found if found is not None else (None, None)
        picture = None
        if entity is not None and style == "pet":
            picture = await badge_picture(session, entity)
    if style == "card":
        from app.web.site.card import card_look, card_svg

        body = card_svg(card_look(repository, entity)).encode()
    else:
        body = badge_svg(badge_look(repository, entity), picture).encode()
    etag = hashlib.sha256(body).hexdigest()[:32]
    response = cached_response(request, body, "image/svg+xml", etag, BADGE_CACHE, IMAGE_CSP)
    if found is None and response.status == 200:
        response.set_status(404)
    return response


async def image(request: web.Request) -> web.Response:
    """`/images/{hash}.{ext}`: a pet picture by content hash, cached for 30 days as immutable."""
    content_hash = request.match_info["hash"]
    if etag_matches(request, content_hash):
        return web.Response(
            status=304, headers={"ETag": f'"{content_hash}"', "Cache-Control": IMAGE_CACHE}
        )
    async with request.app[RUNTIME].sessionmaker() as session:
        found = await pictures.load_image(session, content_hash)
    if found is None:
        raise web.HTTPNotFound()
    mime, data = found
    if pictures.image_ext(mime) != request.match_info["ext"]:
        raise web.HTTPNotFound()
    return cached_response(request, data, mime, content_hash, IMAGE_CACHE, IMAGE_CSP)


async def asset(request: web.Request) -> web.Response:
    """`/assets/{path}`: CSS, JS and icons from memory; versioned URLs are immutable."""
    item = site_of(request).assets.get(request.match_info["path"])
    if item is None:
        raise web.HTTPNotFound()
    cache = ASSET_CACHE_VERSIONED if request.query.get("v") == item.version else ASSET_CACHE
    response = cached_response(request, item.body, item.mime, item.etag, cache)
    if response.status == 200 and item.mime.startswith(
        ("text/", "application/javascript", "image/svg")
    ):
        response.enable_compression()
    return response


async def docs(request: web.Request) -> web.Response:
    """`/docs/` and `/docs/{page}`: the config reference, self-hosting and the API."""
    page = request.match_info.get("page") or "index"
    if page not in DOC_PAGES:
        return not_found_page(request)
    return html_response(render_page(request, f"docs/{page}.html", {}))


async def docs_redirect(request: web.Request) -> web.Response:
    """`/docs` → `/docs/`, so relative links inside the docs work."""
    raise web.HTTPMovedPermanently("/docs/")


async def favicon(request: web.Request) -> web.Response:
    """Browsers ask for /favicon.ico whatever the page says; answer with the SVG icon."""
    item = site_of(request).assets["favicon.svg"]
    return cached_response(request, item.body, item.mime, item.etag, ASSET_CACHE)


async def robots(request: web.Request) -> web.Response:
    """Pages are public; the API and the webhook are not for crawlers."""
    text = "User-agent: *\nDisallow: /api/\nDisallow: /webhook/\nDisallow: /setup\n"
    return web.Response(text=text, content_type="text/plain")


def wants_page(request: web.Request) -> bool:
    """A browser navigating (GET, accepts HTML), not an API or webhook client."""
    if request.method not in ("GET", "HEAD") or request.path.startswith(("/api/", "/webhook/")):
        return False
    return "text/html" in request.headers.get("Accept", "")


@web.middleware
async def friendly_not_found(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Swap aiohttp's plain "404: Not Found" for the site's page when a person is looking."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if SITE in request.app and wants_page(request):
            return not_found_page(request)
        raise


def render_setup(
    settings: Settings, manifest: Mapping[str, Any], state: str = "", notice: str = ""
) -> web.Response:
    """`site/setup.html` filled in: the manifest form for GitHub's manifest flow.

    `notice` is the wizard's rendered `proxy-notice.html`: where webhooks will arrive (or why not).
    """
    values = {
        "GITHUB_URL": settings.github_url,
        "MANIFEST_JSON": json.dumps(manifest),
        "STATE": state,
        "PROXY_HTML": Markup(notice),
    }
    body = standalone_env().get_template("setup.html").render(values)
    return html_response(body, csp=setup_csp(settings.github_url))


def render_setup_done(slug: str, html_url: str) -> web.Response:
    """`site/setup-done.html` filled in: where the new App lives and how to restart."""
    values = {"APP_SLUG": slug, "APP_HTML_URL": html_url}
    return html_response(standalone_env().get_template("setup-done.html").render(values))


def route_paths(app: web.Application) -> set[str]:
    """Every route template the app serves, sub-applications (the `/api` one) included.

    A mounted sub-application's resources already carry its prefix in `canonical`.
    """
    paths: set[str] = set()
    for resource in app.router.resources():
        sub = resource.get_info().get("app")
        paths |= route_paths(sub) if isinstance(sub, web.Application) else {resource.canonical}
    return paths


async def detect_live(app: web.Application) -> None:
    """Link the pet page to the public API and WebSocket only once those routes exist.

    The API and socket are another feature; until they are registered the page stays static
    instead of logging failed requests in every visitor's console.
    """
    paths = route_paths(app)
    app[SITE].live = {
        "ws": "/api/ws" in paths,
        "api": "/api/public/pets/{owner}/{repo}" in paths,
    }


def setup(app: web.Application) -> None:
    """Register the site's routes; called from `app.web.factory.features()`."""
    app[SITE] = Site.load()
    app[aiohttp_jinja2.APP_KEY] = app[SITE].env
    app.middlewares.append(friendly_not_found)
    app.on_response_prepare.append(add_default_csp)
    app.on_startup.append(detect_live)
    router = app.router
    router.add_get("/", landing)
    router.add_get("/pets/{owner}/{repo}", pet_page)
    router.add_get("/badge/{owner}/{repo}.svg", badge)
    router.add_get("/images/{hash:[0-9a-f]{16,64}}.{ext:[a-z0-9]+}", image)
    router.add_get("/assets/{path:[A-Za-z0-9_./-]+}", asset)
    router.add_get("/docs", docs_redirect)
    router.add_get("/docs/", docs)
    router.add_get("/docs/{page}", docs)
    router.add_get("/favicon.ico", favicon)
    router.add_get("/robots.txt", robots)
