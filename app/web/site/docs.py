"""The docs' generated parts: the configuration limits and the settings table, from the code."""

from __future__ import annotations

from typing import Final

from markupsafe import Markup

from app.analysis import scoring
from app.core import vocabulary
from app.core.config import Settings
from app.web.site.templating import SITE_DIR, render_partial

DOC_PAGES: Final = ("index", "config", "self-hosting", "api")

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
    "TOKEN_ENCRYPTION_KEYS": (
        None,
        "AES-256-GCM keys for stored user tokens and notification webhooks, newest first",
    ),
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
    "NOTIFY_WEBHOOK_HOSTS": (
        None,
        "hosts notification webhooks may use besides Slack's and Discord's (host or host:port)",
    ),
}


def config_doc_values() -> dict[str, object]:
    """The config reference's limits and defaults, from the validator in `app.jobs.repo_config`."""
    from app.jobs import repo_config

    return {
        "CONFIG_PATH": repo_config.CONFIG_PATH,
        "CONFIG_SPECIES": list(vocabulary.SPECIES),
        "CONFIG_MAX_NAME": repo_config.MAX_NAME,
        "CONFIG_MAX_GLOBS": repo_config.MAX_GLOBS,
        "CONFIG_DEFAULT_CONTEXT": repo_config.DEFAULT_CONTEXT,
        "CONFIG_REPORTS": list(repo_config.REPORTS),
        "CONFIG_COMMENTS": list(repo_config.COMMENTS),
        "CONFIG_DEFAULT_ANNOTATIONS": repo_config.DEFAULT_ANNOTATIONS,
        "CONFIG_MAX_ANNOTATIONS": repo_config.MAX_ANNOTATIONS,
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
