"""Structured logging: JSON or pretty lines, a request id on every line, secrets masked."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from app.core.config import Settings

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

MIN_SECRET_LENGTH = 6
_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Stamp the current request id (or job id) onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RedactingFilter(logging.Filter):
    """Last line of defence: mask any configured secret that slips into a message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len)[::-1]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True

    def mask(self, text: str) -> str:
        """Replace every secret with a fixed marker."""
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with extras passed through `extra=`."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        doc.update({k: v for k, v in record.__dict__.items() if k not in _STD_ATTRS})
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


PRETTY = "%(asctime)s %(levelname)-5s [%(request_id)s] %(name)s: %(message)s"


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, for the redacting filter."""
    values = [
        settings.webhook_secret,
        settings.github_client_secret,
        settings.session_secret,
        settings.gemini_api_key,
        settings.google_api_key,
        settings.token_encryption_keys,
    ]
    out = [v.get_secret_value() for v in values if v is not None]
    if settings.token_encryption_keys is not None:
        out += settings.token_encryption_keys.get_secret_value().replace(":", ",").split(",")
    for url in (settings.database_url_override, settings.redis_url):
        if url is not None:
            password = _password(url.get_secret_value())
            if password:
                out.append(password)
    return out


def _password(url: str) -> str | None:
    """The password part of a URL, if any."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password
    except ValueError:
        return None


def configure(settings: Settings, stream: object = None) -> None:
    """Install one handler on the root logger (idempotent: replaces an earlier one)."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(secret_values(settings)))
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(PRETTY))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_tamagitto", False)]:
        root.removeHandler(old)
    handler._tamagitto = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.python_log_level)
    for noisy in ("aiohttp.access", "alembic", "arq.worker" if root.level > logging.INFO else ""):
        if noisy:
            logging.getLogger(noisy).setLevel(logging.WARNING)
