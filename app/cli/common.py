"""What every command that needs the settings or the database starts with.

Shared by `serve`, `worker`, `migrate`, `rotate-keys` and `jobs`, so no command module reaches
into another's private helpers.
"""

from __future__ import annotations

import asyncio
import sys

from app.core.config import Settings, SettingsError, load_settings

EXIT_UNAVAILABLE = 1


def settings_or_exit() -> Settings:
    """Load settings or exit 2 with every problem listed."""
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"tamagitto: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None


def preflight(settings: Settings) -> None:
    """Fail with one readable line when the database is unreachable (no traceback)."""
    from app.core import db

    async def check() -> None:
        engine = db.create_engine(settings.database_url)
        try:
            await db.check_connection(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except db.DatabaseUnavailable as exc:
        print(f"tamagitto: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_UNAVAILABLE) from None
