"""`tamagitto rotate-keys`: re-encrypt every stored user token under the newest key; and
`tamagitto keys new`, which prints a fresh key to put first.

TOKEN_ENCRYPTION_KEYS lists keys newest first. To rotate: put a new key first, keep the old ones
after it, run this command, then drop the old keys once it reports nothing left to move.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.config import Settings

if TYPE_CHECKING:  # the database and API packages load only when the command runs
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.core.crypto import Keyring
    from app.core.models import User

BATCH = 200


@dataclass
class Outcome:
    """What a rotation did (user tokens; `secrets` for notification webhooks)."""

    rotated: int = 0
    current: int = 0
    unreadable: int = 0
    secrets: tuple[int, int, int] = (0, 0, 0)


def reseal(ring: Keyring, user: User) -> bool:
    """Re-encrypt one row's tokens under the newest key; False when a token cannot be read."""
    from app.web.api.users import token_aad

    assert user.token_key_id is not None
    plain: dict[str, str] = {}
    for kind, blob in (
        ("access", user.token_ciphertext),
        ("refresh", user.refresh_token_ciphertext),
    ):
        if blob is None:
            continue
        try:
            plain[kind] = ring.decrypt(user.token_key_id, blob, aad=token_aad(user.github_id, kind))
        except Exception:
            return False
    kid = ring.current.kid
    for kind, text in plain.items():
        _, sealed = ring.encrypt(text, aad=token_aad(user.github_id, kind))
        if kind == "access":
            user.token_ciphertext = sealed
        else:
            user.refresh_token_ciphertext = sealed
    user.token_key_id = kid
    return True


async def rotate(
    sessionmaker: async_sessionmaker[AsyncSession], ring: Keyring, dry_run: bool = False
) -> Outcome:
    """Walk users in id order, a locked batch per transaction, moving old rows to the new key."""
    from sqlalchemy import select

    from app.core.models import User

    outcome = Outcome()
    last_id = 0
    while True:
        async with sessionmaker.begin() as session:
            users = list(
                await session.scalars(
                    select(User)
                    .where(User.id > last_id, User.token_key_id.is_not(None))
                    .order_by(User.id)
                    .limit(BATCH)
                    .with_for_update()
                )
            )
            if not users:
                return outcome
            last_id = users[-1].id
            for user in users:
                _count(outcome, ring, user, dry_run)
            if dry_run:
                await session.rollback()


def _count(outcome: Outcome, ring: Keyring, user: User, dry_run: bool) -> None:
    """Rotate one row (unless dry run) and tally the result."""
    assert user.token_key_id is not None
    if not ring.needs_rotation(user.token_key_id):
        outcome.current += 1
    elif dry_run or reseal(ring, user):
        outcome.rotated += 1
    else:
        outcome.unreadable += 1


async def run(settings: Settings, dry_run: bool) -> Outcome:
    """Open the database and rotate."""
    from app.core import db
    from app.core.keyring import keyring

    ring = keyring(settings)
    if ring is None:
        raise SystemExit("tamagitto: rotate-keys needs TOKEN_ENCRYPTION_KEYS")
    from app.jobs.notify_secrets import rotate_secrets

    engine = db.create_engine(settings.database_url)
    try:
        outcome = await rotate(db.make_sessionmaker(engine), ring, dry_run)
        outcome.secrets = await rotate_secrets(db.make_sessionmaker(engine), ring, dry_run)
        return outcome
    finally:
        await engine.dispose()


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Entry point of the subcommand."""
    from app.cli.common import preflight, settings_or_exit

    settings = settings_or_exit()
    preflight(settings)
    outcome = asyncio.run(run(settings, args.dry_run))
    verb = "would re-encrypt" if args.dry_run else "re-encrypted"
    print(
        f"tamagitto: {verb} {outcome.rotated} user(s); {outcome.current} already on the newest "
        f"key; {outcome.unreadable} unreadable with the configured keys",
        file=sys.stderr,
    )
    moved, current, lost = outcome.secrets
    print(
        f"tamagitto: {verb} {moved} notification secret(s); {current} already on the newest "
        f"key; {lost} unreadable",
        file=sys.stderr,
    )
    return 1 if outcome.unreadable or lost else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `rotate-keys`."""
    parser = sub.add_parser(
        "rotate-keys",
        help="re-encrypt stored user tokens under the newest key",
        description=(
            "Re-encrypt every stored GitHub user token under the first key of "
            "TOKEN_ENCRYPTION_KEYS (newest first). Keep the old keys listed after the new one "
            "until this reports that nothing is left to move. Exit status 1 when some rows "
            "could not be decrypted with any configured key."
        ),
    )
    parser.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    parser.set_defaults(func=cmd_rotate_keys)
    add_keys_parser(sub)


def cmd_keys_new(args: argparse.Namespace) -> int:
    """Print a fresh `kid:base64key` on stdout (alone, so it can be piped); advice on stderr."""
    from app.core.crypto import new_key_entry

    print(new_key_entry())
    print(
        "tamagitto: put this key first in TOKEN_ENCRYPTION_KEYS, keep the old keys after it "
        "(comma separated), restart, then run `tamagitto rotate-keys`",
        file=sys.stderr,
    )
    return 0


def add_keys_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `keys new`."""
    keys = sub.add_parser(
        "keys",
        help="make token encryption keys",
        description="Token encryption keys (TOKEN_ENCRYPTION_KEYS) for rotation.",
    )
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    new = actions.add_parser(
        "new",
        help="print a fresh encryption key",
        description=(
            "Print a fresh AES-256 key as `kid:base64key`, the format TOKEN_ENCRYPTION_KEYS "
            "reads. Nothing is written: put it first in the list, keep the old keys after it, "
            "and run `tamagitto rotate-keys`."
        ),
    )
    new.set_defaults(func=cmd_keys_new)
