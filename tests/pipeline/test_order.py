"""Commits change the pet parent first, in both modes, whatever runs at once (issue 14).

Each status shows the health right after its own commit; SQLite never loses an update.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq import Retry
from arq.jobs import Job as ArqJob
from arq.jobs import JobStatus
from sqlalchemy import select

from app.core.config import Settings
from app.core.models import CommitAnalysis, Entity, HealthHistory, Job, PendingCommit, Repository
from app.infra.job_context import JobContext
from app.infra.registry import MAX_TRIES, analyze_job_id
from app.infra.runtime import RUNTIME, Runtime, open_runtime
from app.jobs.functions import TABLE
from app.jobs.ordering import STALL_AFTER
from app.jobs.pipeline import analyze_commit, apply_stalled
from app.web.factory import init_app
from tests.conftest import STATUS_ONLY_PERMISSIONS, installation_payload, truncate_all
from tests.fakes.code import NESTED
from tests.fakes.github import FakeGitHub
from tests.fakes.github_checks import final_statuses
from tests.pipeline.conftest import (
    CALC_AFTER,
    CALC_BEFORE,
    INSTALLATION,
    REPO,
    TEST_AFTER,
    Pipeline,
)

BASE = "b" * 40
SHA1, SHA2, SHA3 = "1" * 40, "2" * 40, "3" * 40
START = 50  # far from both ends, so clamping cannot hide an order


@dataclass
class Modes(Pipeline):
    """A pipeline in either mode; embedded jobs run in the web process by themselves."""

    mode: str = "production"

    @property
    def runtime(self) -> Runtime:
        return self.client.app[RUNTIME]

    async def work(self) -> Any:
        if self.mode == "production":
            return await super().work()
        await self.runtime.queue.join(timeout=60)  # type: ignore[attr-defined]

    @contextlib.asynccontextmanager
    async def working(self) -> AsyncIterator[None]:
        """Jobs run meanwhile (a burst worker in production); on exit, until none is left."""
        task = asyncio.create_task(self.work()) if self.mode == "production" else None
        try:
            yield
        finally:
            if task is not None:
                await task
            await self.work()

    async def finished(self, sha: str) -> bool:
        """Has the analyze job of this commit ended (whatever it did)?"""
        job_id = analyze_job_id(self.repo_id, sha)
        if self.mode == "production":
            status = await ArqJob(job_id, self.runtime.redis).status()  # type: ignore[arg-type]
            return status == JobStatus.complete
        async with self.runtime.sessionmaker() as session:
            job = await session.get(Job, job_id)
            return job is not None and job.status == "done"


@pytest.fixture(params=["embedded", "production"])
async def modes(
    request: pytest.FixtureRequest,
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    app_env: dict[str, str],
    fake_github: FakeGitHub,
    pg_url: str,
    redis_url: str,
) -> AsyncIterator[Modes]:
    """An installed App with one Python repository whose pet is at START health."""
    env = dict(app_env)
    if request.param == "production":
        env.update(DATABASE_URL=pg_url, REDIS_URL=redis_url)
        await truncate_all(pg_url)
    settings = make_settings(**env)
    fake_github.add_installation(INSTALLATION, "Codertocat")
    fake_github.add_repo(
        REPO, repo_id=186853002, default_branch="master", installation_id=INSTALLATION
    )
    client = await aiohttp_client(init_app(settings))
    pipe = Modes(client, fake_github, settings, redis_url, mode=request.param)
    repo = {"id": 186853002, "full_name": REPO, "name": "Hello-World", "private": False}
    assert (
        await pipe.deliver(
            "installation", installation_payload(INSTALLATION, [repo], STATUS_ONLY_PERMISSIONS)
        )
        == 202
    )
    await pipe.work()
    async with pipe.runtime.sessionmaker.begin() as session:
        pet = await session.scalar(select(Entity))
        assert pet is not None
        pet.health = START
        pipe.repo_id = int(await session.scalar(select(Repository.id)) or 0)
    yield pipe
    if request.param == "production":
        await truncate_all(pg_url)


def three_commits(p: Pipeline) -> list[str]:
    """c1 documents, c2 adds tests, c3 adds a tangled function: +, +, -."""
    p.add_commit(SHA1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)}, "document and clamp")
    p.add_commit(SHA2, SHA1, {"test_calc.py": (None, TEST_AFTER)}, "add tests")
    p.add_commit(SHA3, SHA2, {"tangle.py": (None, NESTED)}, "add a tangled function")
    return [SHA1, SHA2, SHA3]


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


async def all_finished(p: Modes, *shas: str) -> bool:
    return all([await p.finished(sha) for sha in shas])


async def applied(p: Modes) -> list[tuple[str, int, int, int]]:
    """(sha, delta, health before, health after) per history row, in the order written."""
    async with p.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(CommitAnalysis.sha, HealthHistory.delta, HealthHistory.health_score)
            .join(CommitAnalysis, HealthHistory.analysis_id == CommitAnalysis.id)
            .order_by(HealthHistory.id)
        )
        return [(sha, delta, after - delta, after) for sha, delta, after in rows.all()]


async def deltas(p: Modes) -> dict[str, int]:
    async with p.runtime.sessionmaker() as session:
        rows = await session.execute(select(CommitAnalysis.sha, CommitAnalysis.health_delta))
        return {sha: delta for sha, delta in rows.all()}


async def health(p: Modes) -> int:
    async with p.runtime.sessionmaker() as session:
        pet = await session.scalar(select(Entity).where(Entity.is_current.is_(True)))
        assert pet is not None
        return pet.health


def status_of(p: Modes, sha: str) -> str:
    (status,) = [s["description"] for s in final_statuses(p.fake.statuses) if s["sha"] == sha]
    return str(status)


async def assert_applied_in_order(p: Modes, shas: list[str]) -> None:
    """History follows `shas`, each change starts where the previous one ended, and each
    commit's status shows the health right after it."""
    by_sha = await deltas(p)
    expected, level = [], START
    for sha in shas:
        after = max(0, min(100, level + by_sha[sha]))
        expected.append((sha, after - level, level, after))
        level = after
    assert await applied(p) == expected
    assert await health(p) == level
    for sha, _, _, after in expected:
        assert f"· {after}/100 (" in status_of(p, sha), (sha, status_of(p, sha))


async def test_children_finishing_first_wait_for_their_parent(modes: Modes) -> None:
    p = modes
    shas = three_commits(p)
    gate = p.fake.hold("GET", rf"/commits/{SHA1}$")
    async with p.working():
        assert await p.deliver("push", p.push(shas, BASE)) == 202
        await until(lambda: all_finished(p, SHA2, SHA3))  # the children are done first
        assert await health(p) == START  # ... and have not touched the pet
        gate.set()
    await assert_applied_in_order(p, shas)
    async with p.runtime.sessionmaker() as session:
        assert (await session.scalars(select(PendingCommit))).all() == []


async def test_next_push_waits_for_the_previous_push(modes: Modes) -> None:
    p = modes
    shas = three_commits(p)
    gate = p.fake.hold("GET", rf"/commits/{SHA2}$")
    async with p.working():
        assert await p.deliver("push", p.push(shas[:2], BASE)) == 202
        await until(lambda: all_finished(p, SHA1))
        assert await p.deliver("push", p.push(shas[2:], SHA2)) == 202
        await until(lambda: all_finished(p, SHA3))
        gate.set()
    await assert_applied_in_order(p, shas)


async def test_two_jobs_on_one_pet_at_once_both_count(
    modes: Modes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unrelated commits (no order between them) applied at the same moment, each job with its
    own database connections (as two processes would have): neither update is lost."""
    p = modes
    p.add_commit(SHA1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)}, "document and clamp")
    p.add_commit(SHA3, BASE, {"tangle.py": (None, NESTED)}, "add a tangled function")
    from app.entities import lifecycle

    settle = lifecycle.settle_pet

    async def slow_settle(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.3)  # the pet is read: hold the transaction open
        return await settle(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "settle_pet", slow_settle)
    async with contextlib.AsyncExitStack() as stack:
        ctxs = [
            (
                await stack.enter_async_context(
                    open_runtime(p.settings, run_jobs=False, jobs=TABLE)
                )
            ).job_ctx()
            for _ in range(2)
        ]
        outcomes = await asyncio.gather(
            analyze_commit(JobContext(ctxs[0]), p.repo_id, SHA1),
            analyze_commit(JobContext(ctxs[1]), p.repo_id, SHA3),
        )
    assert outcomes == ["applied", "applied"]
    history = await applied(p)
    assert len(history) == 2 and history[0][3] == history[1][2]  # the second started after
    by_sha = await deltas(p)
    assert await health(p) == START + by_sha[SHA1] + by_sha[SHA3]


@pytest.mark.parametrize("modes", ["embedded"], indirect=True)  # production: test_faults
async def test_crash_inside_the_apply_leaves_nothing(
    modes: Modes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite too the analysis row, health and history commit together or not at all: a
    crash after the row was written must not leave the commit 'applied' with health untouched."""
    p = modes
    p.add_commit(SHA1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)}, "document and clamp")
    from app.jobs import apply as module

    real = module.record_commit

    async def dying(*args: Any, **kwargs: Any) -> Any:
        await real(*args, **kwargs)
        raise ConnectionResetError("worker killed")

    monkeypatch.setattr(module, "record_commit", dying)
    async with open_runtime(p.settings, run_jobs=False, jobs=TABLE) as runtime:
        with pytest.raises(ConnectionResetError):
            await analyze_commit(JobContext(runtime.job_ctx()), p.repo_id, SHA1)
        assert await deltas(p) == {}
        monkeypatch.setattr(module, "record_commit", real)
        assert await analyze_commit(JobContext(runtime.job_ctx()), p.repo_id, SHA1) == "applied"
    assert await health(p) == START + (await deltas(p))[SHA1] != START


# ---- a parent that never arrives ------------------------------------------------------------


async def run_job(p: Modes, sha: str, after: str | None, job_try: int = 1) -> str:
    """The job as a worker runs it (no worker here: nothing else runs meanwhile)."""
    async with open_runtime(p.settings, run_jobs=False, jobs=TABLE) as runtime:
        ctx = JobContext({**runtime.job_ctx(), "job_try": job_try})
        return await analyze_commit(ctx, p.repo_id, sha, True, after)


async def plan(p: Modes, shas: list[str]) -> None:
    """What the push handler records before queueing the jobs."""
    from app.jobs.ordering import chain
    from app.jobs.ordering import plan as record

    await record(p.runtime.sessionmaker, p.repo_id, chain(shas, BASE))


# The cases below go through the same code in both modes: one is enough.
production_only = pytest.mark.parametrize("modes", ["production"], indirect=True)


@production_only
async def test_a_stopped_parent_lets_its_children_go_with_a_note(modes: Modes) -> None:
    p = modes
    shas = three_commits(p)
    p.fake.fail("GET", rf"/commits/{SHA1}$", 404)
    await plan(p, shas)
    assert await run_job(p, SHA2, SHA1) == f"waiting for {SHA1[:7]}"
    assert await run_job(p, SHA3, SHA2) == f"waiting for {SHA2[:7]}"
    assert await health(p) == START and final_statuses(p.fake.statuses) == []
    assert (await run_job(p, SHA1, BASE)).startswith("stopped")
    await assert_applied_in_order(p, shas[1:])
    assert f"applied without {SHA1[:7]}" in status_of(p, SHA2)
    assert "applied without" not in status_of(p, SHA3)  # c3 still came after its parent


@production_only
async def test_a_parent_failing_its_last_try_lets_its_children_go(modes: Modes) -> None:
    p = modes
    shas = three_commits(p)
    await plan(p, shas)
    assert (await run_job(p, SHA2, SHA1)).startswith("waiting")
    p.fake.fail("GET", rf"/commits/{SHA1}$", 502, times=2)
    with pytest.raises(Retry):
        await run_job(p, SHA1, BASE, job_try=MAX_TRIES - 1)
    assert await health(p) == START  # not its last try: c2 still waits
    with pytest.raises(Retry):
        await run_job(p, SHA1, BASE, job_try=MAX_TRIES)
    await assert_applied_in_order(p, [SHA2])
    assert "its analysis failed" in status_of(p, SHA2)


@production_only
async def test_children_of_a_lost_job_are_applied_after_the_stall(modes: Modes) -> None:
    """c1's job never runs (lost, or parked by a database outage): the sweep applies c2, c3
    in order once STALL_AFTER has passed, never before."""
    p = modes
    shas = three_commits(p)
    await plan(p, shas)
    assert (await run_job(p, SHA3, SHA2)).startswith("waiting")
    assert (await run_job(p, SHA2, SHA1)).startswith("waiting")
    async with open_runtime(p.settings, run_jobs=False, jobs=TABLE) as runtime:
        assert await apply_stalled(JobContext(runtime.job_ctx())) == 0
        assert await health(p) == START
        later = datetime.now(UTC) + STALL_AFTER + timedelta(minutes=1)
        assert await apply_stalled(JobContext(runtime.job_ctx()), later) == 2
    await assert_applied_in_order(p, shas[1:])
    assert "its analysis never finished" in status_of(p, SHA2)
    async with p.runtime.sessionmaker() as session:
        assert (await session.scalars(select(PendingCommit))).all() == []
    assert await run_job(p, SHA1, BASE) == "applied"  # if it ever runs, it still counts once
    assert set(await deltas(p)) == set(shas)


@production_only
async def test_a_status_posted_again_shows_the_health_after_its_commit(
    modes: Modes,
) -> None:
    p = modes
    shas = three_commits(p)
    await plan(p, shas)
    for sha, after in zip(shas, [BASE, *shas], strict=False):
        assert await run_job(p, sha, after) == "applied"
    await assert_applied_in_order(p, shas)
    first = status_of(p, SHA1)
    p.fake.statuses.clear()
    assert await run_job(p, SHA1, BASE) == "already applied"
    assert status_of(p, SHA1) == first  # not the health after c3
