"""Token encryption at rest and `tamagitto rotate-keys`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli.keys import rotate
from app.core.keyring import keyring
from app.core.models import User
from app.infra.runtime import RUNTIME
from app.web.api import sessions
from app.web.api.users import read_token
from tests.api.conftest import (
    SESSION_SECRET,
    ClientFactory,
    bearer,
    new_key,
    seed_repo,
    sign_in,
)
from tests.fakes.github_user import WRITE, FakeGitHubUser

ROOT = Path(__file__).resolve().parents[2]
DB = async_sessionmaker[AsyncSession]


async def _users(db: DB) -> list[User]:
    async with db() as session:
        return list(await session.scalars(select(User).order_by(User.id)))


async def test_rotation_keeps_old_rows_readable_and_moves_them(
    make_client: ClientFactory,
    make_settings: Any,
    api_env: dict[str, str],
    token_keys: str,
    github: FakeGitHubUser,
    db: DB,
) -> None:
    github.expiring = True
    old_app = await make_client(make_settings(**api_env))
    await sign_in(old_app, github, "alice")
    await sign_in(old_app, github, "bob")
    before = await _users(db)
    assert {u.token_key_id for u in before} == {"k1"}

    rotated_env = {**api_env, "TOKEN_ENCRYPTION_KEYS": f"{new_key('k2')},{token_keys}"}
    settings = make_settings(**rotated_env)
    ring = keyring(settings)
    assert ring is not None and ring.current.kid == "k2"
    # Before rotation, old rows are still readable with the new key list.
    assert [read_token(ring, u) for u in before] == [github.issued[0], github.issued[2]]

    outcome = await rotate(db, ring)
    assert (outcome.rotated, outcome.current, outcome.unreadable) == (2, 0, 0)
    after = await _users(db)
    assert {u.token_key_id for u in after} == {"k2"}
    for old, new in zip(before, after, strict=True):
        assert old.token_ciphertext != new.token_ciphertext
        assert read_token(ring, new) == read_token(ring, old)
        assert read_token(ring, new, "refresh") == read_token(ring, old, "refresh")
    again = await rotate(db, ring)
    assert (again.rotated, again.current) == (0, 2)

    # Only the new key left: the app still reads every token (a GitHub call as the user works).
    only_new = {
        **api_env,
        "TOKEN_ENCRYPTION_KEYS": rotated_env["TOKEN_ENCRYPTION_KEYS"].split(",")[0],
    }
    repo = await seed_repo(db, github, "acme/api", private=True)
    github.grant("alice", repo.github_id, WRITE)
    new_app = await make_client(make_settings(**only_new))
    token = await _login_token(new_app, "alice")
    resp = await new_app.get("/api/entities", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    assert [e["id"] for e in (await resp.json())["entities"]] == [repo.entity_id]


async def _login_token(client: Any, login: str) -> str:
    """A session for an existing user without replacing the stored GitHub token."""
    async with client.app[RUNTIME].sessionmaker() as session:
        user = await session.scalar(select(User).where(User.login == login))
    token, _ = sessions.issue(SESSION_SECRET.encode(), user.id, datetime.now(UTC))
    return token


async def test_tampered_or_swapped_ciphertext_is_not_accepted(
    client: Any, github: FakeGitHubUser, db: DB, api_settings: Any
) -> None:
    await sign_in(client, github, "alice")
    await sign_in(client, github, "bob")
    alice, bob = await _users(db)
    ring = keyring(api_settings)
    assert ring is not None
    swapped = User(
        github_id=alice.github_id,
        token_key_id=bob.token_key_id,
        token_ciphertext=bob.token_ciphertext,
    )
    assert read_token(ring, swapped) is None  # the ciphertext is bound to its owner
    flipped = bytearray(alice.token_ciphertext or b"")
    flipped[-1] ^= 1
    alice.token_ciphertext = bytes(flipped)
    assert read_token(ring, alice) is None


async def test_rotate_keys_command(
    api_env: dict[str, str],
    token_keys: str,
    github: FakeGitHubUser,
    client: Any,
    db: DB,
    tmp_path: Path,
) -> None:
    await sign_in(client, github, "alice")
    env = {k: v for k, v in os.environ.items() if k not in api_env}
    env.update(api_env)
    env["DATABASE_URL"] = api_env["DATABASE_URL"].replace("+asyncpg", "")
    env["TOKEN_ENCRYPTION_KEYS"] = f"{new_key('k9')},{token_keys}"
    env["PYTHONPATH"] = str(ROOT)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "rotate-keys", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    helped = await asyncio.to_thread(run, "--help")
    assert helped.returncode == 0 and "--dry-run" in helped.stdout
    assert "Re-encrypt every stored GitHub user token" in helped.stdout
    dry = await asyncio.to_thread(run, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would re-encrypt 1 user(s)" in dry.stderr
    assert {u.token_key_id for u in await _users(db)} == {"k1"}
    done = await asyncio.to_thread(run)
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 1 user(s)" in done.stderr
    assert {u.token_key_id for u in await _users(db)} == {"k9"}
    for secret in github.issued:
        assert secret not in done.stderr + done.stdout
