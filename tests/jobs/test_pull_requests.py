"""Remembering a pull request's head: events of one PR handled at once, in both modes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import PullRequest, Repository
from app.infra.job_context import SESSIONMAKER, JobContext
from app.jobs.pull_requests import PullTarget, remember

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request: pytest.FixtureRequest) -> async_sessionmaker[AsyncSession]:
    name = "pg_sessionmaker" if request.param == "postgresql" else "sqlite_sessionmaker"
    maker: async_sessionmaker[AsyncSession] = request.getfixturevalue(name)
    return maker


async def _repository(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as session:
        repo = Repository(github_id=9001, full_name="octo/pr-race", owner_login="octo")
        session.add(repo)
        await session.flush()
        return repo.id


def _target(repository_id: int, head: str) -> PullTarget:
    return PullTarget(repository_id, "octo/pr-race", 1, 7, head, "main", "b" * 40, "octocat")


async def test_events_of_one_new_pull_request_at_once_store_one_row_with_the_newest_head(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    repository_id = await _repository(sessions)
    ctx = JobContext({SESSIONMAKER: sessions})
    heads = [(f"{i:040x}", T0 + timedelta(seconds=i)) for i in range(6)]
    results: list[Any] = await asyncio.gather(
        *(remember(_target(repository_id, head), "", at, ctx) for head, at in reversed(heads)),
        return_exceptions=True,
    )
    assert all(isinstance(r, bool) for r in results), results  # no unique-key failure
    async with sessions() as session:
        rows = (await session.scalars(select(PullRequest))).all()
    assert len(rows) == 1
    assert rows[0].head_sha == heads[-1][0]  # the newest event wins whatever the order
    assert rows[0].author_login == "octocat"
