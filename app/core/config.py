"""One typed settings object, read once from the environment and `.env` (as Probot does)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class SettingsError(Exception):
    """Start-up cannot continue; the message lists every problem found."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Invalid settings ({len(problems)} problem(s)):\n{lines}")


def _check_pem(pem: str) -> None:
    """Raise ValueError unless the text is an unencrypted PEM private key."""
    try:
        load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("not a valid unencrypted PEM private key") from None


def _check_url(value: str | None, name: str, schemes: tuple[str, ...]) -> str | None:
    """Reject URLs we could not use later, at start-up rather than at first request."""
    if value in (None, ""):
        return None
    assert value is not None
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"{name} is not a valid URL: {exc}") from None
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"{name} must be an absolute {' or '.join(schemes)} URL")
    return value


class Settings(BaseSettings):
    """Every setting Tamagitto reads; nothing else in the code reads the environment."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        env_ignore_empty=True,
    )

    app_id: int | None = Field(default=None, alias="APP_ID")
    private_key: SecretStr | None = Field(default=None, alias="PRIVATE_KEY")
    private_key_path: Path | None = Field(default=None, alias="PRIVATE_KEY_PATH")
    webhook_secret: SecretStr | None = Field(default=None, alias="WEBHOOK_SECRET")
    webhook_path: str | None = Field(default=None, alias="WEBHOOK_PATH")
    webhook_proxy_url: str | None = Field(default=None, alias="WEBHOOK_PROXY_URL")
    webhook_proxy_new_url: str = Field(default="https://smee.io/new", alias="WEBHOOK_PROXY_NEW_URL")
    github_client_id: str | None = Field(default=None, alias="GITHUB_CLIENT_ID")
    github_client_secret: SecretStr | None = Field(default=None, alias="GITHUB_CLIENT_SECRET")
    ghe_host: str | None = Field(default=None, alias="GHE_HOST")
    ghe_protocol: Literal["http", "https"] = Field(default="https", alias="GHE_PROTOCOL")
    github_api_url_override: str | None = Field(default=None, alias="GITHUB_API_URL")
    github_url_override: str | None = Field(default=None, alias="GITHUB_URL")

    port: int = Field(default=3000, alias="PORT", ge=1, le=65535)
    host: str = Field(default="0.0.0.0", alias="HOST")
    public_url_override: str | None = Field(default=None, alias="PUBLIC_URL")

    log_level: Literal["trace", "debug", "info", "warn", "warning", "error", "fatal"] = Field(
        default="info", alias="LOG_LEVEL"
    )
    log_format: Literal["json", "pretty"] = Field(default="pretty", alias="LOG_FORMAT")

    database_url_override: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    redis_url: SecretStr | None = Field(default=None, alias="REDIS_URL")
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, alias="TAMAGITTO_DATA_DIR")

    gemini_api_key: SecretStr | None = Field(default=None, alias="GEMINI_API_KEY")
    google_api_key: SecretStr | None = Field(default=None, alias="GOOGLE_API_KEY")
    gemini_base_url: str | None = Field(default=None, alias="GEMINI_BASE_URL")
    gemini_image_model: str = Field(default="gemini-2.5-flash-image", alias="GEMINI_IMAGE_MODEL")
    gemini_review_model: str = Field(default="gemini-2.5-flash", alias="GEMINI_REVIEW_MODEL")

    session_secret: SecretStr | None = Field(default=None, alias="SESSION_SECRET")
    token_encryption_keys: SecretStr | None = Field(default=None, alias="TOKEN_ENCRYPTION_KEYS")
    extension_ids: str = Field(default="", alias="EXTENSION_IDS")
    trusted_proxies: str = Field(default="", alias="TRUSTED_PROXIES")
    webhook_max_body: int = Field(default=25 * 1024**2, alias="WEBHOOK_MAX_BODY", ge=1)
    unverified_body_budget: int = Field(
        default=64 * 1024**2, alias="UNVERIFIED_BODY_BUDGET", ge=64 * 1024
    )
    # Hosts notification webhooks may point at besides Slack's and Discord's own (a proxy, or a
    # local receiver in tests); `host` or `host:port`, comma separated.
    notify_webhook_hosts: str = Field(default="", alias="NOTIFY_WEBHOOK_HOSTS")

    @field_validator("private_key", mode="before")
    @classmethod
    def _unescape_pem(cls, value: Any) -> Any:
        """Accept a PEM whose newlines were written as `\\n`, as Probot does."""
        if isinstance(value, str) and "\\n" in value:
            return value.replace("\\n", "\n")
        return value

    @field_validator("app_id", mode="before")
    @classmethod
    def _numeric_app_id(cls, value: Any) -> Any:
        """Give a clear message for a non-numeric App id instead of pydantic's generic one."""
        if isinstance(value, str):
            if value.strip() == "":
                return None
            if not value.strip().isdigit():
                raise ValueError("APP_ID must be a number (the App's numeric id)")
        return value

    @field_validator(
        "github_api_url_override",
        "github_url_override",
        "public_url_override",
        "gemini_base_url",
        "webhook_proxy_url",
        "webhook_proxy_new_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Reject base URLs we could not use later, at start-up rather than at first request."""
        return _check_url(value, "URL", ("http", "https"))

    @field_validator("database_url_override")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        """The URL may hold a password, so it is a secret, but it must still parse."""
        if value is not None:
            scheme = value.get_secret_value().split("://", 1)[0]
            if not scheme.startswith(("postgresql", "postgres", "sqlite")):
                raise ValueError("must be a postgresql:// or sqlite:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Only Redis URLs arq and redis-py understand."""
        if value is not None:
            url = value.get_secret_value()
            if not url.startswith(("redis://", "rediss://", "unix://")):
                raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @field_validator("private_key")
    @classmethod
    def _valid_pem(cls, value: SecretStr | None) -> SecretStr | None:
        """A malformed key would otherwise surface only at the first webhook."""
        if value is not None:
            _check_pem(value.get_secret_value())
        return value

    @field_validator("private_key_path")
    @classmethod
    def _valid_pem_file(cls, value: Path | None) -> Path | None:
        """The key file must exist and hold a usable key."""
        if value is not None:
            if not value.is_file():
                raise ValueError(f"{value} is not a readable file")
            _check_pem(value.read_text(errors="replace"))
        return value

    @field_validator("token_encryption_keys")
    @classmethod
    def _valid_token_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """Token keys are checked up front so no token is ever written with a bad key."""
        if value is not None:
            from app.core.crypto import parse_keys

            parse_keys(value.get_secret_value())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        """Every entry must be an IP address or CIDR, or the proxy rule would silently differ."""
        _networks(value)
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        """Settings that are each valid but cannot work together."""
        problems = contradictions(lambda name: getattr(self, _FIELD_OF[name]) is not None)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def trusted_networks(self) -> tuple[IPNetwork, ...]:
        """TRUSTED_PROXIES parsed: peers whose X-Forwarded-For is believed."""
        return _networks(self.trusted_proxies)

    @cached_property
    def private_key_pem(self) -> str | None:
        """The PEM text, from PRIVATE_KEY or the file PRIVATE_KEY_PATH names."""
        if self.private_key is not None:
            return self.private_key.get_secret_value()
        if self.private_key_path is not None and self.private_key_path.is_file():
            return self.private_key_path.read_text()
        return None

    @property
    def github_api_url(self) -> str:
        """REST base URL: explicit override, else GHE's /api/v3, else github.com."""
        if self.github_api_url_override:
            return self.github_api_url_override.rstrip("/")
        if self.ghe_host:
            return f"{self.ghe_protocol}://{self.ghe_host}/api/v3"
        return "https://api.github.com"

    @property
    def github_url(self) -> str:
        """Web base URL (OAuth, manifest flow, links)."""
        if self.github_url_override:
            return self.github_url_override.rstrip("/")
        if self.ghe_host:
            return f"{self.ghe_protocol}://{self.ghe_host}"
        return "https://github.com"

    @property
    def public_url(self) -> str:
        """Where people reach this app; defaults to the local listener."""
        if self.public_url_override:
            return self.public_url_override.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def database_url(self) -> str:
        """SQLAlchemy async URL; unset means SQLite in the data directory."""
        if self.database_url_override is None:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'tamagitto.db').resolve()}"
        url = self.database_url_override.get_secret_value()
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        if url.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + url[len("sqlite://") :]
        return url

    @property
    def embedded(self) -> bool:
        """No Redis means jobs and events stay in this process."""
        return self.redis_url is None

    @property
    def gemini_key(self) -> str | None:
        """GEMINI_API_KEY wins over GOOGLE_API_KEY, as google-genai does."""
        for key in (self.gemini_api_key, self.google_api_key):
            if key is not None and key.get_secret_value():
                return key.get_secret_value()
        return None

    @property
    def app_configured(self) -> bool:
        """True once the App has credentials (the setup wizard is then closed)."""
        return self.app_id is not None and self.private_key_pem is not None

    @property
    def extension_id_list(self) -> list[str]:
        """Allowed Chrome extension ids, comma or space separated."""
        return [x for x in self.extension_ids.replace(",", " ").split() if x]

    @property
    def notify_extra_hosts(self) -> frozenset[str]:
        """`NOTIFY_WEBHOOK_HOSTS` as lower-cased `host` or `host:port` entries."""
        return frozenset(x.lower() for x in self.notify_webhook_hosts.replace(",", " ").split())

    @property
    def python_log_level(self) -> str:
        """Map Probot's level names onto Python's."""
        return {"trace": "DEBUG", "warn": "WARNING", "fatal": "CRITICAL"}.get(
            self.log_level, self.log_level.upper()
        )


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The settings the consistency rules look at, by environment name.
_FIELD_OF = {
    "APP_ID": "app_id",
    "WEBHOOK_SECRET": "webhook_secret",
    "GITHUB_CLIENT_ID": "github_client_id",
    "GITHUB_CLIENT_SECRET": "github_client_secret",
    "SESSION_SECRET": "session_secret",
    "PRIVATE_KEY": "private_key",
    "PRIVATE_KEY_PATH": "private_key_path",
}


def _networks(value: str) -> tuple[IPNetwork, ...]:
    """Comma- or space-separated addresses and CIDRs; a bare address is a /32 (or /128)."""
    found = []
    for item in value.replace(",", " ").split():
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {item!r} is not an IP address or CIDR") from None
    return tuple(found)


def contradictions(is_set: Callable[[str], bool]) -> list[str]:
    """Settings that are each fine but cannot work together, by environment name.

    Checked on presence only, so the same rules run on raw values when other fields are
    invalid, and start-up lists every problem at once.
    """
    problems = []
    if is_set("APP_ID") and not is_set("WEBHOOK_SECRET"):
        problems.append("APP_ID is set without WEBHOOK_SECRET: no webhook could be verified")
    if is_set("GITHUB_CLIENT_ID") and not is_set("GITHUB_CLIENT_SECRET"):
        problems.append("GITHUB_CLIENT_ID is set without GITHUB_CLIENT_SECRET: sign-in needs both")
    if (
        is_set("GITHUB_CLIENT_ID")
        and not is_set("SESSION_SECRET")
        and not (is_set("PRIVATE_KEY") or is_set("PRIVATE_KEY_PATH"))
    ):
        problems.append(
            "GITHUB_CLIENT_ID is set without SESSION_SECRET (nor a private key to derive one "
            "from): no session could be signed"
        )
    if is_set("PRIVATE_KEY") and is_set("PRIVATE_KEY_PATH"):
        problems.append("set PRIVATE_KEY or PRIVATE_KEY_PATH, not both")
    return problems


def _raw_values(env_file: str | os.PathLike[str] | None, overrides: Mapping[str, Any]) -> set[str]:
    """Which settings were given at all (environment, `.env`, overrides), unvalidated."""
    from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

    dotenv = None if env_file is None else Path(env_file)
    given: dict[str, Any] = {**DotEnvSettingsSource(Settings, env_file=dotenv)()}
    given.update(EnvSettingsSource(Settings)())
    given.update(overrides)
    return {name for name, value in given.items() if value not in (None, "")}


def _describe(err: Any) -> str:
    """Turn one pydantic error into a line naming the environment variable."""
    loc = ".".join(str(x) for x in err.get("loc", ()) if x != "__root__")
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if not loc:
        return msg
    return f"{loc}: {msg}"


def load_settings(env_file: str | os.PathLike[str] | None = ".env", **overrides: Any) -> Settings:
    """Read settings once; raise SettingsError listing every problem."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems: list[str] = []
        for err in exc.errors():
            problems.extend(p.strip() for p in _describe(err).split("; "))
        given = _raw_values(env_file, overrides)
        problems += [p for p in contradictions(given.__contains__) if p not in problems]
        raise SettingsError(problems) from None
