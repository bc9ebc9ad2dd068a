"""Migrations up and down on both databases; models and migrations agree; constraints hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import db
from app.core.models import Base, CommitAnalysis, Entity, Repository

TABLES = {t.name for t in Base.metadata.sorted_tables}


async def _tables(url: str) -> set[str]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


async def _diff(url: str) -> list[Any]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each kind."""
    name = "fresh_pg_url" if request.param == "postgresql" else "empty_sqlite_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def empty_sqlite_url(tmp_path: Any) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"


async def test_upgrade_downgrade_upgrade(any_url: str) -> None:
    await db.upgrade_async(any_url)
    assert await _tables(any_url) == TABLES
    import asyncio

    await asyncio.to_thread(db.downgrade, any_url, "base")
    assert await _tables(any_url) == set()
    await db.upgrade_async(any_url)
    assert await _tables(any_url) == TABLES


async def test_models_match_migrations(any_url: str) -> None:
    await db.upgrade_async(any_url)
    assert await _diff(any_url) == []


async def _repo(session: AsyncSession) -> Repository:
    repo = Repository(github_id=1, full_name="o/r", owner_login="o")
    session.add(repo)
    await session.flush()
    return repo


@pytest.fixture(params=["pg", "sqlite"])
def sessions(request: pytest.FixtureRequest) -> async_sessionmaker[AsyncSession]:
    name = "pg_sessionmaker" if request.param == "pg" else "sqlite_sessionmaker"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.mark.parametrize("health", [-1, 101])
async def test_health_check_constraint(
    sessions: async_sessionmaker[AsyncSession], health: int
) -> None:
    async with sessions() as session:
        repo = await _repo(session)
        session.add(Entity(repository_id=repo.id, name="Mochi", species="pet", health=health))
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_health_bounds_accepted(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        repo = await _repo(session)
        session.add_all(
            [
                Entity(repository_id=repo.id, name="A", species="pet", health=0, generation=1),
                Entity(
                    repository_id=repo.id,
                    name="B",
                    species="pet",
                    health=100,
                    generation=2,
                    is_current=False,
                ),
            ]
        )


async def test_unique_repository_sha(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        repo = await _repo(session)
        session.add(CommitAnalysis(repository_id=repo.id, sha="a" * 40))
        await session.flush()
        session.add(CommitAnalysis(repository_id=repo.id, sha="a" * 40))
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_datetimes_come_back_aware(sessions: async_sessionmaker[AsyncSession]) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with sessions.begin() as session:
        repo = await _repo(session)
        repo.last_event_at = when
    async with sessions() as session:
        loaded = await session.get(Repository, repo.id)
        assert loaded is not None and loaded.last_event_at == when
        assert loaded.last_event_at.tzinfo is not None


async def test_one_current_pet_per_repository(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        repo = await _repo(session)
        session.add(Entity(repository_id=repo.id, name="A", species="pet", generation=1))
        await session.flush()
        session.add(Entity(repository_id=repo.id, name="B", species="pet", generation=2))
        with pytest.raises(IntegrityError):
            await session.flush()
