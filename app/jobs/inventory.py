"""Installations and repositories as GitHub reports them: idempotent upserts and switches.

Plain async functions over a session, called by the webhook handlers and the API. Running any of
them twice leaves the same state, because GitHub may deliver an event more than once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Entity, Installation, Repository, User
from app.entities.lifecycle import create_pet, set_frozen


async def insert_missing(
    session: AsyncSession, model: Any, values: dict[str, Any] | Sequence[dict[str, Any]]
) -> None:
    """INSERT … ON CONFLICT DO NOTHING: concurrent jobs may create the same row at once.

    `values` may list several rows: one statement inserts those that are missing.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = values if isinstance(values, dict) else list(values)
    await session.execute(insert(model).values(rows).on_conflict_do_nothing())


async def upsert_installation(
    session: AsyncSession, data: dict[str, Any], now: datetime
) -> Installation:
    """Create or refresh an installation from a payload's `installation` object."""
    account = data.get("account") or {}
    inst = await ensure_installation(session, int(data["id"]), str(account.get("login") or ""), now)
    inst.account_id = int(account.get("id") or 0)
    inst.account_login = str(account.get("login") or account.get("slug") or "")
    inst.account_type = str(account.get("type") or "User")
    inst.repository_selection = str(data.get("repository_selection") or "all")
    inst.permissions = dict(data.get("permissions") or {})
    inst.deleted_at = None
    inst.updated_at = now
    await session.flush()
    return inst


async def ensure_installation(
    session: AsyncSession, installation_id: int, owner_login: str, now: datetime
) -> Installation:
    """The installation row, created from what an event tells if its own event was missed."""
    inst = await session.get(Installation, installation_id)
    if inst is None:
        await insert_missing(
            session,
            Installation,
            {
                "id": installation_id,
                "account_id": 0,
                "account_login": owner_login,
                "account_type": "User",
                "repository_selection": "all",
                "permissions": {},
                "created_at": now,
                "updated_at": now,
            },
        )
        inst = await session.get(Installation, installation_id)
        assert inst is not None
    return inst


async def mark_installation(
    session: AsyncSession,
    installation_id: int,
    now: datetime,
    *,
    deleted: bool | None = None,
    suspended: bool | None = None,
) -> Installation | None:
    """Record deletion or suspension; None for an installation we never saw."""
    inst = await session.get(Installation, installation_id)
    if inst is None:
        return None
    if deleted is not None:
        inst.deleted_at = now if deleted else None
    if suspended is not None:
        inst.suspended_at = now if suspended else None
    inst.updated_at = now
    await session.flush()
    return inst


def repo_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The columns a repository payload (webhook or REST) can fill."""
    fields: dict[str, Any] = {
        "full_name": data["full_name"],
        "owner_login": data["full_name"].split("/", 1)[0],
        "private": bool(data.get("private", False)),
    }
    for key in ("default_branch", "language"):
        if data.get(key):
            fields[key] = data[key]
    if "archived" in data:
        fields["archived"] = bool(data["archived"])
    return fields


async def upsert_repository(
    session: AsyncSession, data: dict[str, Any], installation_id: int | None, now: datetime
) -> Repository:
    """Create or refresh a repository row keyed by GitHub's id (names change, ids don't)."""
    repo = await by_github_id(session, int(data["id"]))
    if repo is None:
        fields = repo_fields(data)
        await insert_missing(
            session,
            Repository,
            {
                "github_id": int(data["id"]),
                "created_at": now,
                "updated_at": now,
                "monitoring_enabled": True,
                "default_branch": fields.get("default_branch", "main"),
                "archived": False,
                "config": {},
                **fields,
            },
        )
        repo = await by_github_id(session, int(data["id"]))
        assert repo is not None
    for key, value in repo_fields(data).items():
        setattr(repo, key, value)
    if installation_id is not None:
        await ensure_installation(session, installation_id, repo.owner_login, now)
        repo.installation_id = installation_id
    repo.updated_at = now
    await session.flush()
    return repo


async def by_github_id(session: AsyncSession, github_id: int) -> Repository | None:
    """The repository row for a GitHub repository id."""
    return await session.scalar(select(Repository).where(Repository.github_id == github_id))


async def start_monitoring(session: AsyncSession, repo: Repository, now: datetime) -> Entity:
    """Monitor the repository and make sure it has a pet (created if missing)."""
    repo.monitoring_enabled = True
    await session.flush()
    pet = await create_pet(session, repo, now)
    await set_frozen(session, repo.id, repo.archived, now)
    return pet


async def stop_monitoring(
    session: AsyncSession, repos: Iterable[Repository], now: datetime
) -> None:
    """Stop analysing and freeze the pet; history and the pet itself are kept."""
    for repo in repos:
        repo.monitoring_enabled = False
        await set_frozen(session, repo.id, True, now)
    await session.flush()


async def repositories_of(session: AsyncSession, installation_id: int) -> Sequence[Repository]:
    """Every repository recorded for an installation."""
    return (
        await session.scalars(
            select(Repository).where(Repository.installation_id == installation_id)
        )
    ).all()


async def by_github_ids(session: AsyncSession, ids: Iterable[int]) -> Sequence[Repository]:
    """Repository rows for several GitHub ids."""
    wanted = list(ids)
    if not wanted:
        return []
    return (await session.scalars(select(Repository).where(Repository.github_id.in_(wanted)))).all()


async def freeze_installation(
    session: AsyncSession, installation_id: int, frozen: bool, now: datetime
) -> None:
    """Suspend or resume every pet of an installation (archived ones stay frozen)."""
    for repo in await repositories_of(session, installation_id):
        if repo.monitoring_enabled:
            await set_frozen(session, repo.id, frozen or repo.archived, now)


async def forget_user_tokens(session: AsyncSession, github_user_id: int) -> bool:
    """Delete a user's stored tokens (they revoked the App's authorization)."""
    result = await session.execute(
        update(User)
        .where(User.github_id == github_user_id)
        .values(
            token_ciphertext=None,
            token_key_id=None,
            token_expires_at=None,
            refresh_token_ciphertext=None,
            refresh_token_expires_at=None,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
