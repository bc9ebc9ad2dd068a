"""The public site: landing page, pet pages, README badges, docs, pet pictures and a friendly 404.

Pages are Jinja2 templates in `site/` (autoescaped; skeleton and `<head>` in `site/partials/`),
rendered through aiohttp-jinja2. The landing
page's gallery and rules are rendered once at start-up from `app.entities` and
`app.analysis.scoring`, so the site always shows the constants the code runs with. Every HTML
response carries a strict Content-Security-Policy: no inline scripts or styles, nothing from
another origin.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import html
import json
import logging
import mimetypes
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.analysis import scoring
from app.core.config import Settings
from app.core.models import CommitAnalysis, Entity, Repository
from app.entities import rules, service
from app.entities.species import BLOB, LANGUAGE_SPECIES, SPECIES, SUBSPECIES, generation_name
from app.entities.sprites import sprite_svg, tombstone_svg
from app.infra.runtime import RUNTIME, SETTINGS

log = logging.getLogger(__name__)

SITE_DIR: Final = Path(__file__).resolve().parents[2] / "site"
ASSET_DIR: Final = SITE_DIR / "assets"

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

HISTORY_DAYS: Final = 30
RECENT_ANALYSES: Final = 10
MIN_SHA_PREFIX: Final = 7
SLUG_RETRY: Final = 300.0  # seconds before asking GitHub for the App's slug again after a failure
SLUG_TIMEOUT: Final = aiohttp.ClientTimeout(total=3)

# Badge colours by state; white text stays readable (contrast ≥ 4.5:1) on each.
STATE_COLOURS: Final[dict[str, str]] = {
    rules.THRIVING: "#1a7f37",
    rules.HEALTHY: "#2f7d1f",
    rules.OKAY: "#8a6a00",
    rules.POOR: "#bc4c00",
    rules.STATE_DYING: "#cf222e",
    rules.DEAD_VISUAL: "#57606a",
}
UNKNOWN_COLOUR: Final = "#57606a"
HEADING_ICON: Final = 28  # px, the sprite beside a species heading
LOST_ICON: Final = 96  # px, the 404 page's blob
# Species shown in the gallery, with the seed that draws them (any stable number will do).
GALLERY_SEEDS: Final[dict[str, int]] = {species: 1000 + i for i, species in enumerate(SPECIES)}
DOC_PAGES: Final = ("index", "config", "self-hosting", "api")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def esc(value: object) -> str:
    """HTML-escape text for element content and quoted attributes."""
    return html.escape(str(value), quote=True)


# --- files: assets and templates --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asset:
    """A static file held in memory with its validator; the site's assets are a few KB."""

    body: bytes
    mime: str
    etag: str

    @property
    def version(self) -> str:
        """Short content hash used in asset URLs, so they can be cached as immutable."""
        return self.etag[:10]


def load_assets(root: Path = ASSET_DIR) -> dict[str, Asset]:
    """Every file under site/assets, keyed by its path relative to that folder."""
    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            body = path.read_bytes()
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            key = path.relative_to(root).as_posix()
            assets[key] = Asset(body, mime, hashlib.sha256(body).hexdigest()[:32])
    return assets


def asset_url(assets: Mapping[str, Asset], name: str) -> str:
    """Versioned URL of an asset; a missing asset is a bug in a template, so fail loudly."""
    return f"/assets/{name}?v={assets[name].version}"


def template_env(assets: Mapping[str, Asset]) -> jinja2.Environment:
    """The site's Jinja2 environment: autoescaped, and an unknown name raises instead of
    rendering empty, so a page never ships with a hole. `asset("path")` gives a versioned URL."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(SITE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = functools.partial(asset_url, assets)
    return env


@functools.cache
def standalone_env() -> jinja2.Environment:
    """An environment for pages rendered without the site app (the setup wizard's)."""
    return template_env(load_assets())


def render_partial(name: str, **values: object) -> Markup:
    """A section template from `site/partials/sections/`, rendered to safe HTML."""
    return Markup(standalone_env().get_template(f"partials/sections/{name}").render(values))


# --- responses --------------------------------------------------------------------------------


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


# --- the landing page's generated parts ------------------------------------------------------


def state_ranges() -> list[tuple[str, int, int]]:
    """(state, lowest, highest) health per state, found by asking `rules.health_state` itself."""
    ranges: dict[str, list[int]] = {}
    for health in range(rules.MIN_HEALTH, rules.MAX_HEALTH + 1):
        ranges.setdefault(rules.health_state(health), []).append(health)
    return [(state, min(ranges[state]), max(ranges[state])) for state in rules.HEALTH_STATES]


# Spellings in the language table that are aliases of a name already listed.
LANGUAGE_ALIASES: Final = frozenset({"js", "ts", "py", "golang", "cpp", "csharp"})


def languages_for(species: str) -> str:
    """Which languages get this species, from the species table (blob takes the rest)."""
    names = [
        lang
        for lang, kind in LANGUAGE_SPECIES.items()
        if kind == species and lang not in LANGUAGE_ALIASES
    ]
    if not names:
        return "Every other language"
    return "Languages: " + ", ".join(names)


def _icon(svg: str) -> Markup:
    """A sprite, small, beside a heading's word (decorative: the word carries the meaning)."""
    from app.web.badge_card import icon_sprite

    return Markup(icon_sprite(svg, HEADING_ICON))


def _gallery_row(species: str) -> dict[str, object]:
    """One species of the gallery: its kinds, languages, heading icon and five pictures."""
    subs = SUBSPECIES[species]
    seed = GALLERY_SEEDS[species]

    def draw(state: str) -> Markup:
        return Markup(sprite_svg(species, subs[0], state, seed, rules.ALIVE))

    return {
        "species": species,
        "kinds": ", ".join(subs),
        "languages": languages_for(species),
        "icon": _icon(draw(rules.HEALTHY)),
        "figures": [{"state": state, "svg": draw(state)} for state in rules.HEALTH_STATES],
    }


def gallery_html() -> Markup:
    """Every species in its five states, drawn by the same code that draws real pets."""
    ghost = tombstone_svg(GALLERY_SEEDS[SPECIES[0]], "a pet that died, resting in peace")
    rows = [_gallery_row(species) for species in SPECIES]
    return render_partial("gallery.html", rows=rows, ghost=Markup(ghost), ghost_icon=_icon(ghost))


def states_html() -> Markup:
    """The health states table: range, colour swatch and the word, never colour alone."""
    return render_partial("states.html", ranges=state_ranges())


def _hours(delta: timedelta) -> int:
    """Whole hours of a rules duration."""
    return int(delta.total_seconds() // 3600)


def life_html() -> Markup:
    """Decay, death and revival, written from the constants in `app.entities.rules`."""
    second = generation_name("Mochi", 2)
    items = [
        ("Birth", f"A new pet starts at {rules.MAX_HEALTH} health."),
        (
            "Earning the top",
            f"From {rules.THRIVING_AT} up, a commit's gain shrinks with the room left to "
            f"{rules.MAX_HEALTH} (a gain of 10 at 90 moves health by "
            f"{rules.applied_gain(90, 10)}, and always by at least 1), so the top is earned and "
            "kept. Losses always apply in full.",
        ),
        (
            "Decay",
            f"With no commits, a pet loses {rules.DECAY_PER_DAY} health per day after a "
            f"{rules.GRACE_DAYS}-day grace period, at most once a day. Archived or suspended "
            "repositories don't decay.",
        ),
        (
            "Dying",
            Markup(
                "Below {} health the pet's status becomes <em>dying</em>, a warning that comes "
                "days before the end."
            ).format(rules.POOR_AT),
        ),
        (
            "Death",
            f"A pet at {rules.MIN_HEALTH} health for {_hours(rules.DEATH_AFTER)} hours dies. "
            "Dead pets take no health changes; analyses are still recorded.",
        ),
        (
            "Revival",
            f"{_hours(rules.COOLDOWN)} hours after death a new generation can hatch at full "
            f"health, with the same name and a numeral: “{second}”.",
        ),
    ]
    return render_partial("life.html", items=items)


def _rule_effect(rule: Mapping[str, object]) -> str:
    """A scoring rule's effect: its weight (× signal) or its fixed points."""
    if "weight" in rule:
        return f"{rule['weight']:+g} × signal" if isinstance(rule["weight"], float) else "—"
    points = rule.get("points")
    if points is None:
        return "—"
    return f"{points:+d}" if isinstance(points, int) and points else str(points)


def scoring_html() -> Markup:
    """The seed's formula and every scoring rule, from `app.analysis.scoring`.

    A list rather than a table: four columns of prose don't fit a phone's width.
    """
    formula = (
        f"delta = {scoring.TEST_WEIGHT:g} × tests + {scoring.DOC_WEIGHT:g} × docs − "
        f"{scoring.COMPLEXITY_WEIGHT:g} × complexity − {scoring.LINT_WEIGHT:g} × lint, "
        f"capped at ±{scoring.FORMULA_CAP}"
    )
    shown = [
        {
            "code": rule["code"],
            "family": rule.get("family", ""),
            "effect": _rule_effect(rule),
            "rule": rule.get("rule", ""),
        }
        for rule in scoring.RULES
    ]
    return render_partial("scoring.html", formula=formula, rules=shown)


VALIDITY_FILE: Final = SITE_DIR / "data" / "validity.json"
VALIDITY_COLUMNS: Final = (
    ("history", "name"),
    ("scored commits", "scored"),
    ("AUC(−delta)", "auc_delta"),
    ("AUC(source lines added)", "auc_size"),
    ("size-controlled AUC", "size_controlled"),
    ("at 100", "at_max"),
    ("median health", "median_health"),
    ("deaths (decay alone)", "deaths"),
)


def _validity_cell(row: Mapping[str, object], key: str) -> str:
    """One cell of the validity table, as the README prints it."""
    value = row.get(key)
    if key == "at_max" and isinstance(value, float):
        return f"{value:.0%}"
    if key == "deaths":
        return f"{value} ({row.get('deaths_decay_only')})"
    if isinstance(value, float) and key != "median_health":
        return f"{value:.2f}"
    return str(value)


def validity_html(path: Path = VALIDITY_FILE) -> Markup:
    """The latest `bench/validity.py --record` figures as a table (empty without a record)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return render_partial("validity.html", rows=None)
    rows = [*record.get("histories", []), {**record.get("pooled", {}), "name": "pooled"}]
    return render_partial(
        "validity.html",
        date=record.get("date", ""),
        titles=[title for title, _ in VALIDITY_COLUMNS],
        rows=[[_validity_cell(row, key) for _, key in VALIDITY_COLUMNS] for row in rows],
    )


# --- the docs' generated parts ----------------------------------------------------------------

DEPLOY_DIR: Final = SITE_DIR.parent / "deploy"

# What each setting means, and a readable default where the code computes one.
SETTING_HELP: Final[dict[str, tuple[str | None, str]]] = {
    "APP_ID": (None, "the GitHub App's numeric id (written by the setup wizard)"),
    "PRIVATE_KEY": (None, "the App's private key, PEM text; <code>\\n</code> escapes allowed"),
    "PRIVATE_KEY_PATH": (None, "a file holding the private key (instead of PRIVATE_KEY)"),
    "WEBHOOK_SECRET": (None, "the secret GitHub signs webhooks with"),
    "WEBHOOK_PATH": (
        None,
        "one more webhook path besides /webhook/github and /api/github/webhooks",
    ),
    "WEBHOOK_PROXY_URL": (
        None,
        "a smee-style channel that relays GitHub's webhooks to a server GitHub cannot reach "
        "(a laptop); <code>tamagitto serve</code> reads it and checks every signature",
    ),
    "WEBHOOK_PROXY_NEW_URL": (None, "where the setup page asks for a new channel (smee's /new)"),
    "GITHUB_CLIENT_ID": (None, "the App's OAuth client id, for signing in"),
    "GITHUB_CLIENT_SECRET": (None, "the App's OAuth client secret"),
    "GHE_HOST": (None, "your GitHub Enterprise Server's host name"),
    "GHE_PROTOCOL": (None, "http or https for GHE_HOST"),
    "GITHUB_API_URL": ("https://api.github.com", "the REST API's base URL; overrides GHE_HOST"),
    "GITHUB_URL": ("https://github.com", "GitHub's web base URL; overrides GHE_HOST"),
    "PORT": (None, "the port to listen on"),
    "HOST": (None, "the address to listen on"),
    "PUBLIC_URL": ("http://localhost:PORT", "the URL people and GitHub reach this server at"),
    "LOG_LEVEL": (None, "trace, debug, info, warn, error or fatal"),
    "LOG_FORMAT": (None, "pretty, or json for one object per line"),
    "DATABASE_URL": ("SQLite in TAMAGITTO_DATA_DIR", "postgresql://… for production"),
    "REDIS_URL": (None, "unset: jobs and events stay in one process; set: arq workers and pub/sub"),
    "TAMAGITTO_DATA_DIR": (None, "where the embedded SQLite database lives"),
    "GEMINI_API_KEY": (None, "Gemini access for pet pictures and reviews; without it, sprites"),
    "GOOGLE_API_KEY": (None, "used when GEMINI_API_KEY is unset"),
    "GEMINI_BASE_URL": ("Google's", "a proxy in front of Gemini"),
    "GEMINI_IMAGE_MODEL": (None, "the model that draws pet pictures"),
    "GEMINI_REVIEW_MODEL": (None, "the model that reviews diffs when llm_review is on"),
    "SESSION_SECRET": (None, "the key that signs session tokens (HS256)"),
    "TOKEN_ENCRYPTION_KEYS": (None, "AES-256-GCM keys for stored user tokens, newest first"),
    "EXTENSION_IDS": (None, "Chrome extension ids allowed to sign in, comma separated"),
    "TRUSTED_PROXIES": (
        None,
        "proxies (IP addresses or CIDRs) whose <code>X-Forwarded-For</code> is believed; "
        "unset, the header is ignored",
    ),
    "WEBHOOK_MAX_BODY": ("25 MiB", "the largest webhook body accepted, in bytes (413 above)"),
    "UNVERIFIED_BODY_BUDGET": (
        "64 MiB",
        "bytes all webhook bodies not yet verified may hold at once, per process (503 above)",
    ),
}


def config_doc_values() -> dict[str, object]:
    """The config reference's limits and defaults, from the validator in `app.jobs.repo_config`."""
    from app.jobs import repo_config

    return {
        "CONFIG_PATH": repo_config.CONFIG_PATH,
        "CONFIG_SPECIES": list(repo_config.SPECIES),
        "CONFIG_MAX_NAME": repo_config.MAX_NAME,
        "CONFIG_MAX_GLOBS": repo_config.MAX_GLOBS,
        "CONFIG_DEFAULT_CONTEXT": repo_config.DEFAULT_CONTEXT,
        "REVIEW_LIMIT": scoring.REVIEW_LIMIT,
    }


def _default_text(default: object) -> str:
    """A setting's default as shown in the docs."""
    if default is None or default == "":
        return "–"
    return str(default)


def settings_table() -> Markup:
    """Every setting `app.core.config.Settings` reads, with its default taken from the code.

    A definition list, one card per setting, so long names and URLs fit a phone's width.
    `SETTING_HELP`'s meanings are HTML written here.
    """
    entries = []
    for model_field in Settings.model_fields.values():
        name = str(model_field.alias)
        shown, meaning = SETTING_HELP.get(name, (None, ""))
        default = shown if shown is not None else _default_text(model_field.default)
        entries.append((name, default, Markup(meaning)))
    return render_partial("settings.html", entries=entries)


def deploy_file(name: str) -> str:
    """A deployment file's text for the self-hosting page (empty if the tree lacks it)."""
    path = DEPLOY_DIR / name
    return path.read_text(encoding="utf-8") if path.is_file() else ""


# --- the App's install link -------------------------------------------------------------------


@dataclass
class AppSlug:
    """The App's slug from `GET /app`, asked once; a failure is retried after a while."""

    slug: str | None = None
    failed_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _may_ask(self) -> bool:
        """Never asked, or the last failure is old enough to try again."""
        return self.failed_at is None or time.monotonic() - self.failed_at > SLUG_RETRY

    async def get(self, settings: Settings, http: aiohttp.ClientSession) -> str | None:
        """The slug, or None when the App isn't configured or GitHub can't tell us now."""
        if self.slug is not None or not settings.app_configured:
            return self.slug
        async with self.lock:
            if self.slug is None and self._may_ask():
                self.slug = await fetch_app_slug(settings, http)
                if self.slug is None:
                    self.failed_at = time.monotonic()
        return self.slug


async def fetch_app_slug(settings: Settings, http: aiohttp.ClientSession) -> str | None:
    """Ask GitHub (or GHE) for the App's slug with an App JWT; log and give up on any error."""
    from gidgethub import apps

    assert settings.app_id is not None and settings.private_key_pem is not None
    token = apps.get_jwt(app_id=str(settings.app_id), private_key=settings.private_key_pem)
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "User-Agent": "tamagitto",
    }
    try:
        async with http.get(
            f"{settings.github_api_url}/app", headers=headers, timeout=SLUG_TIMEOUT
        ) as resp:
            resp.raise_for_status()
            slug = (await resp.json()).get("slug")
            return slug if isinstance(slug, str) and slug else None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("site: could not read the App's slug from GitHub (%s)", type(exc).__name__)
        return None


def install_link(settings: Settings, slug: str | None) -> tuple[str, str]:
    """(href, label) of the landing page's install button."""
    if not settings.app_configured:
        return "/setup", "Set up this server"
    if slug is None:
        return f"{settings.github_url}/apps", "Install on GitHub"
    return f"{settings.github_url}/apps/{slug}/installations/new", "Install on GitHub"


# --- the public pet: lookups and the payload the pet page renders ----------------------------
# The shapes and queries are the public API's own (app.web.api.public, app.read.pets), so the page
# shows the same thing before and after pet.js refreshes it from `/api/public/pets/...`.


async def public_pet(session: AsyncSession, full_name: str) -> tuple[Repository, Entity] | None:
    """The repository and its current pet, or None for private or unknown ones."""
    from app.web.api.public import public_repository

    repository = await public_repository(session, full_name)
    if repository is None:
        return None
    entity = await service.current_pet(session, repository.id)
    return None if entity is None else (repository, entity)


async def analysis_rows(
    session: AsyncSession, repository_id: int, highlight: str | None
) -> list[CommitAnalysis]:
    """The latest analyses, plus the highlighted commit's even when it is older."""
    rows = list(
        await session.scalars(
            select(CommitAnalysis)
            .where(CommitAnalysis.repository_id == repository_id)
            .order_by(CommitAnalysis.processed_at.desc(), CommitAnalysis.id.desc())
            .limit(RECENT_ANALYSES)
        )
    )
    if highlight and not any(row.sha.startswith(highlight) for row in rows):
        extra = await session.scalar(
            select(CommitAnalysis)
            .where(CommitAnalysis.repository_id == repository_id)
            .where(CommitAnalysis.sha.startswith(highlight, autoescape=True))
            .limit(1)
        )
        if extra is not None:
            rows.append(extra)
    return rows


def clean_sha(value: str | None) -> str | None:
    """A usable commit prefix from `?sha=`, or None (hex only, at least 7 characters)."""
    if not value:
        return None
    value = value.strip().lower()
    if MIN_SHA_PREFIX <= len(value) <= 64 and all(c in "0123456789abcdef" for c in value):
        return value
    return None


async def pet_payload(
    session: AsyncSession,
    repository: Repository,
    entity: Entity,
    now: datetime,
    highlight: str | None = None,
) -> dict[str, Any]:
    """What the pet page needs, in the public API's shapes, plus the state ranges for the chart.

    Pictures stay relative (same origin), so the page's CSP never depends on PUBLIC_URL.
    """
    from app.read import history, pets

    since = now - timedelta(days=HISTORY_DAYS)
    points = await pets.history(session, entity.id, since)
    rows = await analysis_rows(session, repository.id, highlight)
    found = await pets.outcomes(session, rows)
    return {
        "entity": service.entity_to_dict(entity, repository),
        "health_history": pets.bucketed(points, "daily"),
        "changes": await history.repository_changes(session, repository.id, since),
        "recent_analyses": [pets.analysis_json(r, repository, found.get(r.id)) for r in rows],
        "history_days": HISTORY_DAYS,
        "state_ranges": [
            {"state": state, "min": low, "max": high} for state, low, high in state_ranges()
        ],
    }


def json_for_script(data: Any) -> str:
    """JSON safe inside a `<script type="application/json">` block (no `</script>` breakout)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- badges -----------------------------------------------------------------------------------

# Verdana 11px advance widths (px) of common characters, as shields.io measures them.
_WIDTHS: Final[dict[str, float]] = {
    **dict.fromkeys("abcdeghnopqu", 7.0), **dict.fromkeys("fjrt", 4.3), "i": 3.1, "l": 3.1,
    **dict.fromkeys("kvxyz", 6.5), "m": 10.7, "s": 5.8, "w": 9.0,
    **dict.fromkeys("0123456789", 7.0), " ": 3.9, "·": 4.3, "|": 5.0, "-": 5.0, "–": 7.0,
}  # fmt: skip
_DEFAULT_WIDTH: Final = 7.5
_WIDE_WIDTH: Final = 14.0  # emoji and other wide symbols


def text_width(text: str) -> float:
    """Approximate rendered width of badge text; emoji count as wide."""
    width = 0.0
    for char in text:
        if char in _WIDTHS:
            width += _WIDTHS[char]
        elif ord(char) > 0x2000:
            width += 0.0 if 0xFE00 <= ord(char) <= 0xFE0F else _WIDE_WIDTH
        else:
            width += _DEFAULT_WIDTH
    return width


@dataclass(frozen=True, slots=True)
class BadgeLook:
    """What a badge says and in which colour."""

    label: str
    message: str
    colour: str
    state: str
    icon: str = ""  # the pet's sprite document, drawn on the left (no emoji font needed)


def badge_look(repository: Repository | None, entity: Entity | None) -> BadgeLook:
    """The badge's words: "72 · healthy" by the pet's sprite, "RIP" with its dates once dead,
    "not found" otherwise."""
    if repository is None or entity is None:
        return BadgeLook("tamagitto", "not found", UNKNOWN_COLOUR, "unknown")
    icon = service.sprite_for(entity, service.visual_state(entity)).data.decode()
    if entity.status == rules.DEAD:
        from app.web.badge_card import rip_dates

        state = rules.DEAD_VISUAL
        message = f"RIP {rip_dates(entity.born_at, entity.died_at)}".strip()
        return BadgeLook("tamagitto", message, STATE_COLOURS[state], state, icon)
    state = rules.health_state(entity.health)
    message = f"{entity.health} · {state}"
    return BadgeLook("tamagitto", message, STATE_COLOURS[state], state, icon)


def _run(x: float, width: float, text: str) -> tuple[str, str, str]:
    """A shadowed, centred text run's position, length and words (shields' look)."""
    return f"{x:.1f}", f"{width:.1f}", text


def badge_svg(look: BadgeLook, picture: tuple[str, bytes] | None = None) -> str:
    """A shields-style flat badge; with a picture, the pet sits on the left (`?style=pet`)."""
    pad, height = 6, 20
    pic = 0 if picture is None and not look.icon else height
    left_w = text_width(look.label)
    right_w = text_width(look.message)
    left = pic + left_w + 2 * pad
    right = right_w + 2 * pad
    total = left + right
    image = Markup("")
    if picture is not None:
        data = base64.b64encode(picture[1]).decode()
        href = f"data:{picture[0]};base64,{data}"
        image = Markup('<image x="0" y="0" width="{0}" height="{0}" href="{1}"/>').format(pic, href)
    elif look.icon:
        from app.web.badge_card import nested_sprite

        image = Markup(nested_sprite(look.icon, 2, 2, height - 4))
    return (
        standalone_env()
        .get_template("badges/flat.svg")
        .render(
            total=f"{total:.0f}",
            height=height,
            title=f"{look.label}: {look.message}",
            state=look.state,
            left=f"{left:.1f}",
            right=f"{right:.1f}",
            colour=look.colour,
            image=image,
            label=_run(pic + left_w / 2 + pad, left_w, look.label),
            message=_run(left + right / 2, right_w, look.message),
        )
    )


async def badge_picture(session: AsyncSession, entity: Entity) -> tuple[str, bytes]:
    """The pet's current picture (generated or sprite) for the `pet` badge style."""
    state = service.visual_state(entity)
    picture = await service.load_picture(session, entity.id, state)
    if picture is None:
        picture = service.sprite_for(entity, state)
    return picture.mime_type, picture.data


# --- the site object: everything rendered once at start-up -----------------------------------


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


# --- handlers ---------------------------------------------------------------------------------


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
    from app.web.badge_card import icon_sprite

    svg = sprite_svg(BLOB, "blob", rules.POOR, GALLERY_SEEDS[BLOB], rules.ALIVE)
    return icon_sprite(svg, LOST_ICON)


def config_notice(config: Mapping[str, Any] | None) -> Markup:
    """What was wrong with the repository's `.github/tamagitto.yml`, as the pipeline stored it.

    The file lives in a public repository, so its problems are public too.
    """
    from app.jobs.repo_config import CONFIG_PATH

    errors = [str(e) for e in (config or {}).get("errors") or []]
    warnings = [str(w) for w in (config or {}).get("warnings") or []]
    if not errors and not warnings:
        return Markup("")
    return render_partial(
        "config-notice.html",
        path=CONFIG_PATH,
        has_errors=bool(errors),
        problems=[*errors, *warnings],
    )


def _pet_values(
    settings: Settings, payload: dict[str, Any], repository: Repository, live: Mapping[str, bool]
) -> dict[str, object]:
    """Template values of the pet page's server-rendered parts (autoescaped by the template)."""
    entity = payload["entity"]
    full_name = repository.full_name
    state = rules.DEAD_VISUAL if entity["status"] == rules.DEAD else entity["state"]
    owner, repo = full_name.split("/", 1)
    base = settings.public_url
    badge = f"{base}/badge/{full_name}.svg"
    snippet = (
        f"[![{entity['name']}, the Tamagitto pet of {full_name}]({badge})]({base}/pets/{full_name})"
    )
    ws = f"/api/ws?repository={full_name}" if live.get("ws") else ""
    api = f"/api/public/pets/{full_name}" if live.get("api") else ""
    return {
        "NAME": entity["name"],
        "FULL_NAME": full_name,
        "OWNER": owner,
        "REPO": repo,
        "SPECIES": entity["species"],
        "EMOJI": entity.get("emoji", ""),
        "GENERATION": entity["generation"],
        "HEALTH": entity["health_score"],
        "STATE": state,
        "STATE_WORD": state.capitalize(),
        "STATUS": entity["status"],
        "VISUAL_URL": entity["visual_url"],
        "REPO_URL": f"{settings.github_url}/{full_name}",
        "GITHUB_URL": settings.github_url,
        "BADGE_PATH": f"/badge/{full_name}.svg",
        "BADGE_MARKDOWN": snippet,
        "WS_URL": ws,
        "API_URL": api,
        "PET_JSON": Markup(json_for_script(payload)),
        "CONFIG_HTML": config_notice(repository.config),
    }


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
    values = _pet_values(settings, payload, repository, site_of(request).live)
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
        from app.web.badge_card import card_look, card_svg

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
        found = await service.load_image(session, content_hash)
    if found is None:
        raise web.HTTPNotFound()
    mime, data = found
    if service.image_ext(mime) != request.match_info["ext"]:
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


# --- the friendly 404 for any unmatched page --------------------------------------------------


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


# --- the setup wizard's pages (served by the webhook feature's /setup routes) ----------------


def setup_csp(github_url: str) -> str:
    """The site's CSP, with the manifest form allowed to post to GitHub (or GHE)."""
    return CSP.replace("form-action 'self'", f"form-action 'self' {github_url}")


def render_setup(
    settings: Settings, manifest: Mapping[str, Any], state: str = "", notice: str = ""
) -> web.Response:
    """`site/setup.html` filled in: the manifest form for GitHub's manifest flow.

    `notice` is HTML the wizard built with esc(): where webhooks will arrive (or why not).
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


# --- wiring -----------------------------------------------------------------------------------


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


__all__ = [
    "CSP",
    "SITE",
    "STATE_COLOURS",
    "Site",
    "badge_look",
    "badge_svg",
    "render_setup",
    "render_setup_done",
    "setup",
    "setup_csp",
]
