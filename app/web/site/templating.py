"""Files and templates of the site: assets in memory, the Jinja2 environment (autoescaped,
strict about unknown names) and the helpers that render `site/` templates.
"""

from __future__ import annotations

import functools
import hashlib
import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jinja2
from markupsafe import Markup

SITE_DIR: Final = Path(__file__).resolve().parents[3] / "site"

ASSET_DIR: Final = SITE_DIR / "assets"


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


def json_for_script(data: Any) -> str:
    """JSON safe inside a `<script type="application/json">` block (no `</script>` breakout)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
