"""Credit where commits are applied (issue 18): authors by login, co-authors sharing the delta,
achievements granted once with their commit, and the `achievement` event on the bus."""

from __future__ import annotations

from sqlalchemy import select

from app.core.care_models import Achievement, AnalysisCredit
from app.core.models import CommitAnalysis
from app.entities import credit
from app.infra.runtime import RUNTIME
from tests.pipeline.conftest import CALC_AFTER, CALC_BEFORE, REPO, TEST_AFTER, Pipeline

BASE = "b" * 40
PAIRED = "1" * 40
SOLO = "2" * 40
GRACE = credit.person("Grace Hopper", "grace@example.com")


async def credits_of(p: Pipeline) -> list[AnalysisCredit]:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        return list(await session.scalars(select(AnalysisCredit).order_by(AnalysisCredit.id)))


async def grants_of(p: Pipeline) -> list[Achievement]:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        return list(await session.scalars(select(Achievement).order_by(Achievement.id)))


def paired_commit(p: Pipeline) -> None:
    p.add_commit(
        PAIRED,
        BASE,
        {"calc.py": (CALC_BEFORE, CALC_AFTER), "test_calc.py": (None, TEST_AFTER)},
        "Add clamp with tests\n\nCo-authored-by: Grace Hopper <grace@example.com>",
    )


async def test_a_commit_credits_its_linked_author_and_its_co_author(pipeline: Pipeline) -> None:
    p = pipeline
    paired_commit(p)
    assert await p.deliver("push", p.push([PAIRED], BASE)) == 202
    await p.work()
    async with p.client.app[RUNTIME].sessionmaker() as session:
        row = await session.scalar(select(CommitAnalysis).where(CommitAnalysis.sha == PAIRED))
    assert row is not None and row.author_login == "octocat"
    found = await credits_of(p)
    assert [(c.person_key, c.login, c.role) for c in found] == [
        ("gh:octocat", "octocat", "author"),
        (GRACE.key, None, "co-author"),
    ]
    assert sum(c.points for c in found) == row.health_delta
    assert all(c.delta == row.health_delta and c.analysis_id == row.id for c in found)
    grants = {(g.person_key, g.code) for g in await grants_of(p)}
    assert {("gh:octocat", "first_commit"), (GRACE.key, "first_test")} <= grants
    assert all(g.sha == PAIRED for g in await grants_of(p))
    events = [e for e in p.events.drain() if e["type"] == "achievement"]  # type: ignore[attr-defined]
    assert {(e["person"]["key"], e["code"]) for e in events} == grants
    first = next(e for e in events if e["code"] == "first_test" and e["person"]["login"])
    assert first["repository"] == REPO and first["commit_sha"] == PAIRED
    assert first["message"] == f"Octo Cat earned 🧪 First test on {REPO}"


async def test_redelivery_credits_nothing_twice_and_grants_once(pipeline: Pipeline) -> None:
    p = pipeline
    paired_commit(p)
    await p.deliver("push", p.push([PAIRED], BASE))
    await p.work()
    before = len(await credits_of(p)), len(await grants_of(p))
    change = p.fake.add_change(
        REPO, SOLO, PAIRED, {"test_more.py": (None, TEST_AFTER.replace(b"clamp", b"add"))}
    )
    change["author"] = None  # GitHub links no account: name and email hash
    change["commit"]["author"] = {"name": "Grace Hopper", "email": "grace@example.com",
                                  "date": "2026-11-21T10:00:00Z"}  # fmt: skip
    await p.deliver("push", p.push([PAIRED], BASE), delivery="again")
    await p.deliver("push", p.push([SOLO], PAIRED))
    await p.work()
    found = await credits_of(p)
    assert len(found) == before[0] + 1
    assert found[-1].person_key == GRACE.key and found[-1].role == "author"
    codes = [g.code for g in await grants_of(p) if g.person_key == GRACE.key]
    assert codes.count("first_test") == 1 and codes.count("first_commit") == 1
