"""GitHub errors, retries, config problems, big pushes and the poller, in production mode."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from arq import Retry
from sqlalchemy import func, select

from app.core.models import CommitAnalysis, Entity, HealthHistory, Repository
from app.infra.job_context import JobContext
from app.infra.runtime import RUNTIME, open_runtime
from app.jobs import config_files
from app.jobs.functions import TABLE
from app.jobs.pipeline import analyze_commit
from app.jobs.poller import poll_repositories
from app.jobs.statuses import StatusText, status_description, units
from tests.fakes.github_checks import final_statuses
from tests.pipeline.conftest import CALC_AFTER, CALC_BEFORE, REPO, TEST_AFTER, Pipeline

BASE = "b" * 40
SHA = "1" * 40


async def count(p: Pipeline, model: Any) -> int:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def repo_id(p: Pipeline) -> int:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        return int(await session.scalar(select(Repository.id)) or 0)


def one_commit(p: Pipeline, sha: str = SHA, parent: str = BASE) -> None:
    p.add_commit(
        sha, parent, {"calc.py": (CALC_BEFORE, CALC_AFTER), "test_calc.py": (None, TEST_AFTER)}
    )


async def run_job(p: Pipeline, sha: str = SHA, job_try: int = 1) -> str:
    """Call the job the way arq does, with the worker's ctx."""
    async with open_runtime(p.settings, run_jobs=False, jobs=TABLE) as runtime:
        ctx = JobContext({**runtime.job_ctx(), "job_try": job_try})
        return await analyze_commit(ctx, await repo_id(p), sha)


async def test_502_502_200_gives_one_status(pipeline: Pipeline) -> None:
    p = pipeline
    one_commit(p)
    p.fake.fail("GET", rf"/commits/{SHA}$", 502, times=2)
    with pytest.raises(Retry):
        await run_job(p, job_try=1)
    with pytest.raises(Retry):
        await run_job(p, job_try=2)
    assert await run_job(p, job_try=3) == "applied"
    assert [s["sha"] for s in final_statuses(p.fake.statuses)] == [SHA]
    assert await count(p, CommitAnalysis) == 1


async def test_429_defers_until_retry_after(pipeline: Pipeline) -> None:
    p = pipeline
    one_commit(p)
    p.fake.fail("GET", rf"/commits/{SHA}$", 429, headers={"Retry-After": "42"})
    with pytest.raises(Retry) as info:
        await run_job(p)
    assert info.value.defer_score == 42_000
    p.fake.fail(
        "GET",
        rf"/commits/{SHA}$",
        403,
        headers={"Retry-After": "7"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    with pytest.raises(Retry) as info:
        await run_job(p)
    assert info.value.defer_score == 7_000
    assert await count(p, CommitAnalysis) == 0


async def test_404_drops_the_job(pipeline: Pipeline) -> None:
    p = pipeline
    one_commit(p)
    p.fake.fail("GET", rf"/commits/{SHA}$", 404)
    assert (await run_job(p)).startswith("stopped")
    # no result, no retry; the pending status the job posted first does not stay pending
    assert [s["state"] for s in p.fake.statuses] == ["pending", "error"]
    assert (
        "could not analyse this commit: GitHub answered 404" in p.fake.statuses[-1]["description"]
    )


async def test_422_on_status_is_logged_not_retried(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    p = pipeline
    one_commit(p)
    # both the pending status and the final one are refused
    p.fake.fail("POST", r"/statuses/", 422, body={"message": "Validation Failed"}, times=2)
    assert await run_job(p) == "applied"
    assert await count(p, CommitAnalysis) == 1
    assert "refused (422)" in caplog.text
    assert p.fake.statuses == []


async def test_crash_before_commit_applies_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job dies after analysing, inside the transaction: the retry applies it once."""
    p = pipeline
    one_commit(p)
    from app.jobs import apply as module

    real = module.record_commit

    async def dying(*args: Any, **kwargs: Any) -> Any:
        await real(*args, **kwargs)
        raise ConnectionResetError("worker killed")

    monkeypatch.setattr(module, "record_commit", dying)
    with pytest.raises(ConnectionResetError):
        await run_job(p)
    assert await count(p, CommitAnalysis) == 0 and await count(p, HealthHistory) == 0
    monkeypatch.setattr(module, "record_commit", real)
    assert await run_job(p) == "applied"
    assert await run_job(p) == "already applied"
    assert await count(p, CommitAnalysis) == 1
    async with p.client.app[RUNTIME].sessionmaker() as session:
        history = (await session.scalars(select(HealthHistory))).all()
        row = await session.scalar(select(CommitAnalysis))
    assert row is not None and row.health_delta > 0  # tests and docs added
    assert [h.analysis_id for h in history] == [row.id]


async def test_invalid_config_uses_defaults_and_says_so(pipeline: Pipeline) -> None:
    p = pipeline
    one_commit(p)
    p.fake.contents[(REPO, SHA, ".github/tamagitto.yml")] = b"fail_below: lots\ncontext: x\n"
    assert await run_job(p) == "applied"
    (status,) = final_statuses(p.fake.statuses)
    assert status["context"] == "tamagitto"  # the invalid file's context is not used
    assert "tamagitto.yml is invalid" in status["description"]


async def test_fail_below_and_context(pipeline: Pipeline) -> None:
    p = pipeline
    one_commit(p)
    p.fake.contents[(REPO, SHA, ".github/tamagitto.yml")] = b"fail_below: 101\n"
    async with p.client.app[RUNTIME].sessionmaker.begin() as session:
        pet = await session.scalar(select(Entity))
        assert pet is not None
        pet.health = 50
    await run_job(p)
    assert "invalid" in final_statuses(p.fake.statuses)[-1]["description"]
    p.fake.statuses.clear()
    p.fake.contents[(REPO, SHA, ".github/tamagitto.yml")] = b"fail_below: 100\ncontext: pets\n"
    # A file at a commit never changes in git, so its lookup is remembered; this test rewrites
    # it at the same sha, so the process forgets what it read.
    config_files._commit_reads.clear()
    await run_job(p)  # already applied: posted again with the new config, same health
    (status,) = final_statuses(p.fake.statuses)
    assert (status["state"], status["context"]) == ("failure", "pets")


async def test_25_commit_push_posts_one_summary_status(pipeline: Pipeline) -> None:
    p = pipeline
    shas, parent = [], BASE
    for i in range(25):
        sha = f"{i + 1:040x}"
        one_commit(p, sha, parent)
        shas.append(sha)
        parent = sha
    assert await p.deliver("push", p.push(shas, BASE)) == 202
    await p.work()
    assert await count(p, CommitAnalysis) == 25
    (status,) = final_statuses(p.fake.statuses)
    assert status["sha"] == shas[-1]
    assert "over 25 commits" in status["description"]


async def test_poller_catches_a_missed_webhook(pipeline: Pipeline) -> None:
    p = pipeline
    one_commit(p)
    assert await p.deliver("push", p.push([SHA], BASE)) == 202
    await p.work()
    missed = "9" * 40
    one_commit(p, missed, SHA)  # pushed while our webhook endpoint was down
    async with open_runtime(p.settings, run_jobs=False, jobs=TABLE) as runtime:
        result = await poll_repositories(JobContext(runtime.job_ctx()))
        assert result["queued"] == 1
        again = await poll_repositories(JobContext(runtime.job_ctx()))  # 304 from the ETag cache
        assert again["queued"] == 0
    await p.work()
    assert await count(p, CommitAnalysis) == 2
    assert {s["sha"] for s in final_statuses(p.fake.statuses)} == {SHA, missed}
    listing = p.fake.calls("repos/list-commits")
    assert any("If-None-Match" in r.headers for r in listing)


async def test_poller_skips_installations_low_on_rate_limit(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    p = pipeline
    caplog.set_level(logging.INFO, logger="app.jobs.poller")  # whatever an earlier test configured
    p.fake.rate_remaining = 100
    async with open_runtime(p.settings, run_jobs=False, jobs=TABLE) as runtime:
        result = await poll_repositories(JobContext(runtime.job_ctx()))
    assert result == {"queued": 0, "skipped": 1}
    assert "skipping installation" in caplog.text
    assert not p.fake.calls("repos/list-commits")


@pytest.mark.parametrize("name", ["Mochi", "A" * 60, "🐱" * 30])
def test_description_fits_in_140_units(name: str) -> None:
    text = StatusText(
        delta=-7,
        reasons=[
            "complexity up in a_very_long_function_name_" * 3,
            "a secret committed 🔑",
            "lint 🚨" * 10,
        ],
    )
    description = status_description("🐱", name, 42, "alive", text)
    assert units(description) <= 140
    assert len(description) <= 140
    assert description.startswith("🐱 ")
    if units(f"🐱 {name} is okay · 42/100 (-7): complexity") > 140:
        assert description.endswith("…")


def test_dead_pet_status_tells_the_truth() -> None:
    text = StatusText(delta=5, reasons=["tests added"])
    assert status_description("🐱", "Mochi", 0, "dead", text) == (
        "🪦 Mochi has died · revive it from the extension"
    )


def test_exact_description() -> None:
    text = StatusText(delta=4, reasons=["tests added", "complexity down"])
    assert status_description("🐱", "Mochi", 72, "alive", text) == (
        "🐱 Mochi is healthy · 72/100 (+4): tests added, complexity down"
    )


async def test_config_names_the_pet_and_picks_its_species(pipeline: Pipeline) -> None:
    p = pipeline
    one_commit(p)
    p.fake.contents[(REPO, SHA, ".github/tamagitto.yml")] = b"name: Biscuit\nspecies: robot\n"
    assert await run_job(p) == "applied"
    async with p.client.app[RUNTIME].sessionmaker() as session:
        pet = await session.scalar(select(Entity))
    assert pet is not None
    assert (pet.name, pet.species) == ("Biscuit", "robot")
    assert "Biscuit" in final_statuses(p.fake.statuses)[-1]["description"]
    assert final_statuses(p.fake.statuses)[-1]["description"].startswith("🤖")


async def test_trigger_job_polls_one_repository(pipeline: Pipeline) -> None:
    """The job behind POST /api/analysis/trigger."""
    from app.jobs.poller import poll_repository

    p = pipeline
    one_commit(p)
    assert await p.deliver("push", p.push([SHA], BASE)) == 202
    await p.work()
    newer = "8" * 40
    one_commit(p, newer, SHA)
    async with open_runtime(p.settings, run_jobs=False, jobs=TABLE) as runtime:
        ctx = JobContext(runtime.job_ctx())
        assert await poll_repository(ctx, await repo_id(p)) == {"queued": 1}
        assert await poll_repository(ctx, 999_999) == {"queued": 0}
    await p.work()
    assert await count(p, CommitAnalysis) == 2
