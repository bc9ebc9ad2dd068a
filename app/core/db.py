"""Database engine, sessions and migrations for both modes (SQLite embedded, PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = ROOT / "alembic.ini"


class DatabaseUnavailable(Exception):
    """The database could not be reached; the message names it without its password."""


RETRY_AFTER = 5  # seconds a client is told to wait while the database is unreachable
_DRIVERS = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3")


def _raised_by_driver(exc: BaseException) -> bool:
    """Did the exception come out of the database stack (not, say, an HTTP client)?"""
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVERS):
            return True
        tb = tb.tb_next
    return False


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` means the database cannot be reached now, so a retry may work.

    asyncpg raises plain OSError while connecting, SQLAlchemy a DBAPIError for a connection
    lost mid-query and its own TimeoutError when the pool is exhausted.
    """
    from sqlalchemy import exc as sa

    if isinstance(exc, DatabaseUnavailable | sa.TimeoutError):
        return True
    if isinstance(exc, sa.DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(
            exc, sa.OperationalError | sa.InterfaceError
        )
    return isinstance(exc, OSError | TimeoutError) and _raised_by_driver(exc)


def redact_url(url: str | URL) -> str:
    """Render a database or Redis URL with the password hidden, for logs and errors."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable URL>"
    return parsed.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets the web and job tasks read while one writes; FKs are off by default."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets its data directory created and its pragmas set."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (we return them to handlers)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def check_connection(engine: AsyncEngine, timeout: float = 10.0) -> None:
    """Fail fast with a readable message instead of a driver traceback."""
    try:
        async with asyncio.timeout(timeout):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if isinstance(exc, TimeoutError):
            reason = f"no answer within {timeout:g} s"
        raise DatabaseUnavailable(
            f"cannot reach the database at {redact_url(engine.url)} ({reason})"
        ) from None


def alembic_config(url: str) -> Any:
    """Alembic config pointing at our migrations and the given URL."""
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Run `alembic upgrade` (blocking; call from a thread when inside an event loop)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Run `alembic downgrade`."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Migrate from async code; alembic's async env runs its own loop, so use a thread."""
    await asyncio.to_thread(upgrade, url, revision)
