"""Push to pet to commit status, in production mode, against a fake GitHub."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from app.core.models import CommitAnalysis, Entity, HealthHistory, Repository
from app.infra.runtime import RUNTIME
from app.jobs import config_files
from tests.fakes.code import NESTED
from tests.fakes.github_checks import final_statuses
from tests.pipeline.conftest import CALC_AFTER, CALC_BEFORE, REPO, TEST_AFTER, Pipeline

BASE = "b" * 40
SHA1, SHA2, SHA3 = "1" * 40, "2" * 40, "3" * 40


async def pet(p: Pipeline) -> Entity:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        found = await session.scalar(select(Entity))
        assert found is not None
        return found


async def count(p: Pipeline, model: Any) -> int:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def three_commits(p: Pipeline) -> list[str]:
    p.add_commit(SHA1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)}, "document and clamp")
    p.add_commit(SHA2, SHA1, {"test_calc.py": (None, TEST_AFTER)}, "add tests")
    p.add_commit(SHA3, SHA2, {"tangle.py": (None, NESTED)}, "add a tangled function")
    return [SHA1, SHA2, SHA3]


async def test_push_to_status(pipeline: Pipeline) -> None:
    p = pipeline
    shas = three_commits(p)
    assert await p.deliver("push", p.push(shas, BASE)) == 202
    await p.work()
    assert await count(p, CommitAnalysis) == 3
    statuses = [s for s in final_statuses(p.fake.statuses) if s["repo"] == REPO]
    assert sorted(s["sha"] for s in statuses) == shas  # one status per commit
    # status mode (the installation never granted check runs): pending first, then the final
    for sha in shas:
        states = [s["state"] for s in p.fake.statuses if s["sha"] == sha]
        assert states == ["pending", "success"], (sha, states)
    assert p.fake.checks.runs == {}
    for status in statuses:
        assert status["context"] == "tamagitto" and status["state"] == "success"
        assert len(status["description"].encode("utf-16-le")) // 2 <= 140
        assert status["target_url"] == f"http://tamagitto.test/pets/{REPO}?sha={status['sha']}"
    async with p.client.app[RUNTIME].sessionmaker() as session:
        rows = {r.sha: r for r in (await session.scalars(select(CommitAnalysis))).all()}
    assert rows[SHA2].health_delta > 0  # tests added
    assert rows[SHA3].health_delta < 0  # deeply nested function
    assert any(r["code"].startswith("test") for r in rows[SHA2].reasons)
    creature = await pet(p)
    for status in statuses:
        assert creature.name in status["description"] and "/100 (" in status["description"]
    assert any(f"{creature.health}/100" in s["description"] for s in statuses)
    async with p.client.app[RUNTIME].sessionmaker() as session:
        history = (await session.scalars(select(HealthHistory))).all()
    assert sum(h.delta for h in history) == creature.health - 100
    assert {h.analysis_id for h in history} <= {r.id for r in rows.values()}
    await asyncio.sleep(0.2)
    events = p.events.drain()  # type: ignore[attr-defined]
    kinds = [e["type"] for e in events]
    assert kinds.count("analysis_complete") == 3
    messages = {e["commit_message"] for e in events if e["type"] == "analysis_complete"}
    assert messages == {"document and clamp", "add tests", "add a tangled function"}
    assert "health_update" in kinds


async def test_redelivery_and_second_branch_change_health_once(pipeline: Pipeline) -> None:
    p = pipeline
    shas = three_commits(p)
    payload = p.push(shas, BASE)
    assert await p.deliver("push", payload, delivery="same-delivery") == 202
    assert await p.deliver("push", payload, delivery="same-delivery") == 200
    await p.work()
    health = (await pet(p)).health
    history = await count(p, HealthHistory)
    other = {**payload, "ref": "refs/heads/release"}
    other_config = b"branches: [master, release]\n"
    p.fake.contents[(REPO, shas[-1], ".github/tamagitto.yml")] = other_config
    # git never changes a file at a commit, so its lookup is remembered: forget it here
    config_files._commit_reads.clear()
    assert await p.deliver("push", other, delivery="other-branch") == 202
    assert await p.deliver("push", payload, delivery="manual-redelivery-new-id") == 202
    await p.work()
    assert await count(p, CommitAnalysis) == 3
    assert (await pet(p)).health == health
    assert await count(p, HealthHistory) == history
    async with p.client.app[RUNTIME].sessionmaker() as session:  # the release push was read
        repo = await session.scalar(select(Repository))
    assert repo is not None and repo.config["branches"] == ["master", "release"]
