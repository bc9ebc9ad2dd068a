"""Webhook URLs for notifications, stored encrypted and only ever named by the repository.

An admin of a repository stores a Slack or Discord incoming-webhook URL through the API under a
name; `.github/tamagitto.yml` names it (`notify: {slack: NAME}`). The URL is sealed with the
token keyring (AES-256-GCM, `TOKEN_ENCRYPTION_KEYS`), bound to its repository and name, so a
row copied elsewhere does not open. Only Slack's and Discord's webhook hosts are accepted
(plus `NOTIFY_WEBHOOK_HOSTS`): a stored URL is a request the server makes, and it must not
become a way into the server's own network.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import care_schemas
from app.core.care_models import NotifySecret
from app.core.crypto import Keyring
from app.core.times import iso
from app.jobs.notify_config import KINDS, SECRET_NAME, Target

MAX_URL = 2048
HINT_CHARS = 4
OFFICIAL: dict[str, tuple[frozenset[str], str]] = {
    "slack": (frozenset({"hooks.slack.com"}), "/services/"),
    "discord": (
        frozenset({"discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"}),
        "/api/webhooks/",
    ),
}


class BadSecret(ValueError):
    """The name, kind or URL cannot be stored; the message says why."""


def aad(repository_id: int, name: str) -> bytes:
    """Bind a sealed URL to its repository and name."""
    return f"tamagitto:notify:{repository_id}:{name}".encode()


def check_name(name: str) -> str:
    """A secret's name as the config names it (lower case)."""
    name = name.strip().lower()
    if not SECRET_NAME.match(name):
        raise BadSecret("`name` must be 1 to 64 letters, digits, `-`, `_` or `.`")
    return name


def check_url(kind: str, url: str, extra_hosts: frozenset[str] = frozenset()) -> str:
    """An incoming-webhook URL of this kind: https on Slack's or Discord's host and path, or
    any URL on a host the operator allowed (`NOTIFY_WEBHOOK_HOSTS`)."""
    if kind not in KINDS:
        raise BadSecret(f"`kind` must be one of {', '.join(KINDS)}")
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadSecret("`url` is not a URL") from None
    host = (parts.hostname or "").lower()
    netloc = f"{host}:{port}" if port else host
    if len(url) > MAX_URL or parts.scheme not in ("https", "http") or not host:
        raise BadSecret(f"`url` must be an http(s) URL of at most {MAX_URL} characters")
    if host in extra_hosts or netloc in extra_hosts:
        return url
    hosts, prefix = OFFICIAL[kind]
    if parts.scheme != "https" or host not in hosts or port not in (None, 443):
        raise BadSecret(
            f"`url` must be a {kind} incoming-webhook URL (https://{sorted(hosts)[0]}…)"
        )
    if not parts.path.startswith(prefix):
        raise BadSecret(f"a {kind} incoming-webhook URL's path starts with {prefix}")
    return url


async def store(
    session: AsyncSession,
    ring: Keyring,
    repository_id: int,
    name: str,
    kind: str,
    url: str,
    created_by: int | None,
) -> tuple[NotifySecret, bool]:
    """Seal and store (or replace) a secret; returns it and whether it is new."""
    row = await session.scalar(
        select(NotifySecret).where(
            NotifySecret.repository_id == repository_id, NotifySecret.name == name
        )
    )
    created = row is None
    if row is None:
        row = NotifySecret(repository_id=repository_id, name=name)
        session.add(row)
    row.kind = kind
    row.key_id, row.ciphertext = ring.encrypt(url, aad=aad(repository_id, name))
    row.hint = url[-HINT_CHARS:]
    row.created_by = created_by
    await session.flush()
    return row, created


async def listing(session: AsyncSession, repository_id: int) -> list[NotifySecret]:
    """A repository's secrets by name."""
    rows = await session.scalars(
        select(NotifySecret)
        .where(NotifySecret.repository_id == repository_id)
        .order_by(NotifySecret.name)
    )
    return list(rows)


async def remove(session: AsyncSession, repository_id: int, name: str) -> bool:
    """Delete a secret; False when there was none."""
    result = await session.execute(
        delete(NotifySecret).where(
            NotifySecret.repository_id == repository_id, NotifySecret.name == name
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def open_secret(ring: Keyring, row: NotifySecret) -> str | None:
    """The URL, or None when today's keys cannot open it (rotated away, or tampered)."""
    try:
        return ring.decrypt(row.key_id, row.ciphertext, aad=aad(row.repository_id, row.name))
    except Exception:
        return None


async def url_for(
    session: AsyncSession, ring: Keyring, repository_id: int, target: Target
) -> str | None:
    """The URL a config's target names, when it is stored under that kind and opens."""
    row = await session.scalar(
        select(NotifySecret).where(
            NotifySecret.repository_id == repository_id, NotifySecret.name == target.secret
        )
    )
    if row is None or row.kind != target.kind:
        return None
    return open_secret(ring, row)


def info_model(row: NotifySecret) -> care_schemas.NotifySecretInfo:
    """What the API shows of a secret: never the URL."""
    return care_schemas.NotifySecretInfo(
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        hint=f"…{row.hint}",
        created_at=iso(row.created_at),
        updated_at=iso(row.updated_at),
    )


def reseal(ring: Keyring, row: NotifySecret) -> bool:
    """Re-encrypt under the newest key (`tamagitto rotate-keys`); False when it cannot open."""
    if not ring.needs_rotation(row.key_id):
        return False
    url = open_secret(ring, row)
    if url is None:
        return False
    row.key_id, row.ciphertext = ring.encrypt(url, aad=aad(row.repository_id, row.name))
    return True


async def rotate_secrets(
    sessionmaker: async_sessionmaker[AsyncSession], ring: Keyring, dry_run: bool = False
) -> tuple[int, int, int]:
    """(re-encrypted, already current, unreadable) over every stored secret, for
    `tamagitto rotate-keys` (there are few: one locked transaction)."""
    rotated = current = unreadable = 0
    async with sessionmaker.begin() as session:
        for row in await session.scalars(select(NotifySecret).with_for_update()):
            if not ring.needs_rotation(row.key_id):
                current += 1
            elif (open_secret(ring, row) is not None) if dry_run else reseal(ring, row):
                rotated += 1
            else:
                unreadable += 1
        if dry_run:
            await session.rollback()
    return rotated, current, unreadable


__all__ = [
    "BadSecret",
    "aad",
    "check_name",
    "check_url",
    "info_model",
    "listing",
    "open_secret",
    "remove",
    "reseal",
    "rotate_secrets",
    "store",
    "url_for",
]
