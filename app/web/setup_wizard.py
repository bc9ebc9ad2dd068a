"""Register the GitHub App through GitHub's manifest flow, as Probot's setup wizard does.

While APP_ID is unset, GET /setup offers the manifest (app.yml with this deployment's URLs) to
GitHub or GHE. GitHub sends the person back to /setup/callback with a code that we exchange for
the App's credentials, which are written to `.env` (mode 0600). Once configured, both routes 404.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from gidgethub import GitHubException
from gidgethub import aiohttp as gh_aiohttp
from markupsafe import Markup

from app.core.config import Settings
from app.core.envfile import ensure_secrets, write_env
from app.infra.github import USER_AGENT
from app.infra.runtime import SETTINGS, runtime_of

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_FILE = ROOT / "app.yml"
STATE_TTL = 3600.0
STATES = web.AppKey("setup_states", dict)
DONE = web.AppKey("setup_done", list)
CHANNEL = web.AppKey("setup_channel", list)
ENV_KEYS = {
    "id": "APP_ID",
    "pem": "PRIVATE_KEY",
    "webhook_secret": "WEBHOOK_SECRET",
    "client_id": "GITHUB_CLIENT_ID",
    "client_secret": "GITHUB_CLIENT_SECRET",
}


def manifest(settings: Settings, channel: str | None = None) -> dict[str, Any]:
    """app.yml with every URL pointing at this deployment's PUBLIC_URL.

    GitHub delivers webhooks to the proxy channel instead when there is one (WEBHOOK_PROXY_URL,
    or the channel just created on the setup page), since it cannot reach a laptop.
    """
    data: dict[str, Any] = yaml.safe_load(MANIFEST_FILE.read_text())
    base = settings.public_url
    hook = channel or settings.webhook_proxy_url or f"{base}/webhook/github"
    data["url"] = base
    data["hook_attributes"] = {**data.get("hook_attributes", {}), "url": hook}
    data["redirect_url"] = f"{base}/setup/callback"
    data["setup_url"] = f"{base}/"
    data["callback_urls"] = [f"{base}/auth/callback"] + [
        extension_redirect(ext) for ext in settings.extension_id_list
    ]
    return data


def extension_redirect(ext_id: str) -> str:
    """The OAuth redirect of an extension: Chrome's from its id, Firefox's (ids like
    `name@domain` or `{uuid}`) from the SHA-1 of its add-on id."""
    if "@" in ext_id or ext_id.startswith("{"):
        return f"https://{hashlib.sha1(ext_id.encode()).hexdigest()}.extensions.allizom.org/"
    return f"https://{ext_id}.chromiumapp.org/"


def _open(app: web.Application) -> bool:
    """The wizard only runs until the App is configured (or has just been)."""
    return not app[SETTINGS].app_configured and not app[DONE]


def _take_state(app: web.Application, state: str) -> bool:
    """Single-use, expiring state so a callback can't be replayed or forged."""
    states: dict[str, float] = app[STATES]
    now = time.monotonic()
    for key in [k for k, exp in states.items() if exp < now]:
        del states[key]
    return states.pop(state, 0.0) >= now


async def setup_page(request: web.Request) -> web.Response:
    """GET /setup: the manifest form (personal account or organization)."""
    if not _open(request.app):
        raise web.HTTPNotFound()
    from app.web.site.handlers import render_setup

    state = secrets.token_urlsafe(24)
    request.app[STATES][state] = time.monotonic() + STATE_TTL
    settings, channel = request.app[SETTINGS], _channel(request.app)
    notice = proxy_notice(settings, channel, state, request.query.get("channel") == "failed")
    return render_setup(settings, manifest(settings, channel), state, notice)


def _channel(app: web.Application) -> str | None:
    """The channel created on this page since start-up, if any."""
    return app[CHANNEL][-1] if app[CHANNEL] else None


def proxy_notice(settings: Settings, channel: str | None, state: str, failed: bool) -> Markup:
    """Where GitHub will send webhooks, and a warning when that is a loopback address.

    A loopback PUBLIC_URL with no channel means no delivery would ever arrive, so the page
    says so and offers a button that asks WEBHOOK_PROXY_NEW_URL for a channel.
    """
    from app.web.site.templating import render_partial
    from app.web.webhook_proxy import is_loopback

    channel = channel or settings.webhook_proxy_url
    if not channel and not is_loopback(settings.public_url):
        return Markup("")
    return render_partial(
        "proxy-notice.html",
        channel=channel,
        public_url=settings.public_url,
        new_url=settings.webhook_proxy_new_url,
        state=state,
        failed=failed,
    )


def _state_alive(app: web.Application, state: str) -> bool:
    """A state this page handed out and that has not expired (not consumed: the manifest
    form still needs it)."""
    return bool(state) and app[STATES].get(state, 0.0) >= time.monotonic()


async def create_channel_page(request: web.Request) -> web.Response:
    """POST /setup/channel: ask for a channel, remember it in .env, back to the form."""
    if not _open(request.app):
        raise web.HTTPNotFound()
    form = await request.post()
    if not _state_alive(request.app, str(form.get("state", ""))):
        raise web.HTTPBadRequest(text="This setup page expired; open /setup again.")
    from app.web.webhook_proxy import ChannelError, create_channel, redact

    settings = request.app[SETTINGS]
    try:
        channel = await create_channel(runtime_of(request).http, settings.webhook_proxy_new_url)
    except (ChannelError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("no webhook channel from %s: %s", redact(settings.webhook_proxy_new_url), exc)
        raise web.HTTPSeeOther("/setup?channel=failed") from None
    write_env(Path.cwd() / ".env", {"WEBHOOK_PROXY_URL": channel})
    request.app[CHANNEL].append(channel)
    log.info("created webhook channel %s; restart to read it", redact(channel))
    raise web.HTTPSeeOther("/setup")


async def convert(request: web.Request, code: str) -> dict[str, Any]:
    """POST /app-manifests/{code}/conversions (no authentication, as GitHub documents)."""
    settings = request.app[SETTINGS]
    gh = gh_aiohttp.GitHubAPI(
        runtime_of(request).http, USER_AGENT, base_url=settings.github_api_url
    )
    data: dict[str, Any] = await gh.post(
        "/app-manifests/{code}/conversions", url_vars={"code": code}, data=b""
    )
    return data


async def setup_callback(request: web.Request) -> web.Response:
    """GET /setup/callback?code=…&state=…: exchange the code, write .env, say how to restart."""
    if not _open(request.app):
        raise web.HTTPNotFound()
    code, state = request.query.get("code", ""), request.query.get("state", "")
    if not code or not _take_state(request.app, state):
        raise web.HTTPBadRequest(
            text="This setup link is invalid or expired; start again at /setup."
        )
    try:
        data = await convert(request, code)
    except GitHubException as exc:
        log.warning("manifest conversion failed: %s", exc)
        raise web.HTTPBadGateway(
            text="GitHub refused the registration code; start again at /setup."
        ) from None
    write_env(Path.cwd() / ".env", {env: str(data[key]) for key, env in ENV_KEYS.items()})
    ensure_secrets(Path.cwd() / ".env")
    request.app[DONE].append(data.get("slug"))
    log.info("registered GitHub App %s (id %s); restart to use it", data.get("slug"), data["id"])
    from app.web.site.handlers import render_setup_done

    return render_setup_done(str(data.get("slug", "")), str(data.get("html_url", "")))


def next_step(settings: Settings) -> str:
    """What `serve` tells a person at start-up: register the App, or where webhooks arrive.

    The first hour goes wrong silently otherwise: nothing says that /setup exists, or that
    GitHub cannot deliver to localhost.
    """
    from app.web.webhook_proxy import is_loopback

    if settings.app_id is None:
        return f"tamagitto: next step: open {settings.public_url}/setup to register the App"
    if settings.webhook_proxy_url:
        return (
            f"tamagitto: GitHub delivers webhooks to {settings.webhook_proxy_url}; this "
            "server reads them from there (WEBHOOK_PROXY_URL)"
        )
    hook = f"{settings.public_url}/webhook/github"
    line = f"tamagitto: GitHub delivers webhooks to {hook}"
    if is_loopback(hook):
        line += " (a loopback address GitHub cannot reach: set PUBLIC_URL or WEBHOOK_PROXY_URL)"
    return line


def setup(app: web.Application) -> None:
    """Routes of the wizard (they answer 404 once the App is configured)."""
    app[STATES] = {}
    app[DONE] = []
    app[CHANNEL] = []
    app.router.add_get("/setup", setup_page)
    app.router.add_post("/setup/channel", create_channel_page)
    app.router.add_get("/setup/callback", setup_callback)
