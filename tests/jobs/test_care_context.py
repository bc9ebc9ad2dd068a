"""The commit path's database reads and the replay's ledger agree (issue 18): the same history
credited either way gives the same grants at the same commits, and the same `Past`."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.care_models import Achievement, AnalysisCredit, CaretakerBackfill
from app.core.models import CommitAnalysis, Repository
from app.entities import credit, lifecycle
from app.entities.ledger import Ledger
from app.infra.job_context import JobContext
from app.jobs import care_context, caretaking
from app.jobs.repo_config import RepoConfig, parse_config
from app.read import caretakers

DB = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
PEOPLE = [("Ada", "ada@example.com", "ada"), ("Bob", "bob@example.com", None)]
REASONS = ("tests_added", "complexity_reduced", "complexity_added", "lint_introduced", "docs_added")


def history(seed: int, count: int) -> list[dict[str, object]]:
    """Commits about every 18 hours for about seven weeks, some co-authored."""
    rng = random.Random(seed)
    found = []
    for i in range(count):
        name, email, login = PEOPLE[rng.randrange(2)]
        delta = rng.choice((-4, -1, 0, 1, 2, 3, 11))
        code = REASONS[rng.randrange(len(REASONS))]
        message = f"c{i}" + (
            "\n\nCo-authored-by: Bob <bob@example.com>" if rng.random() < 0.2 else ""
        )
        reasons = [{"code": code, "points": delta, "detail": code}]
        found.append({"sha": f"{seed:02x}{i:038x}", "at": T0 + i * timedelta(hours=18),
                      "delta": delta, "reasons": reasons, "name": name, "email": email,
                      "login": login, "message": message})  # fmt: skip
    return found


async def test_database_reads_and_the_ledger_grant_the_same(pg_sessionmaker: DB) -> None:
    commits = history(7, 70)
    ledger = Ledger()
    async with pg_sessionmaker.begin() as session:
        repo = Repository(github_id=9, full_name="o/r", owner_login="o")
        session.add(repo)
        await session.flush()
        pet = await lifecycle.create_pet(session, repo, T0 - timedelta(hours=1))
        ledger.observe(pet.born_at, pet.health, pet.generation)
        for item in commits:
            row = CommitAnalysis(repository_id=repo.id, entity_id=pet.id, sha=item["sha"],
                                 message=item["message"], author_name=item["name"],
                                 author_email=item["email"], author_login=item["login"],
                                 committed_at=item["at"], processed_at=item["at"],
                                 health_delta=item["delta"], reasons=item["reasons"])  # fmt: skip
            session.add(row)
            await session.flush()
            step = care_context.step_of(row)
            await caretaking.credit_and_grant(session, row, pet, step, row.processed_at)
            found = credit.credits(row.author_name, row.author_email, row.author_login,
                                   row.message, row.health_delta)  # fmt: skip
            ledger.record(step, found)
        grants = await session.scalars(select(Achievement))
        stored = {(g.person_key, g.code, g.sha) for g in grants}
        end = commits[-1]["at"] + timedelta(hours=1)  # type: ignore[operator]
        for key, mine in ledger.people.items():
            from_db = await care_context.person_past(session, repo.id, key, end, -1)
            assert from_db == mine.past(end), key
    assert stored == {(g.person.key, g.kind.code, g.sha) for g in ledger.grants}
    assert {code for _, code, _ in stored} >= {"first_commit", "first_test", "tidy_ten", "big_lift"}


async def test_the_backfill_credits_old_analyses_in_order_and_the_commit_path_waits(
    pg_sessionmaker: DB,
) -> None:
    commits = history(3, 12)
    async with pg_sessionmaker.begin() as session:
        repo = Repository(github_id=11, full_name="o/old", owner_login="o")
        session.add(repo)
        await session.flush()
        pet = await lifecycle.create_pet(session, repo, T0 - timedelta(hours=1))
        for item in commits:  # analysed before credits existed: no credits, no grants
            row = CommitAnalysis(repository_id=repo.id, entity_id=pet.id, sha=item["sha"],
                                 message=item["message"], author_name=item["name"],
                                 author_email=item["email"], author_login=item["login"],
                                 committed_at=item["at"], processed_at=item["at"],
                                 health_delta=item["delta"], reasons=item["reasons"])  # fmt: skip
            session.add(row)
        session.add(CaretakerBackfill(repository_id=repo.id))
    async with pg_sessionmaker.begin() as session:  # a new commit while the backfill waits
        later = T0 + timedelta(days=60)
        new = CommitAnalysis(repository_id=repo.id, entity_id=pet.id, sha="f" * 40, message="new",
                             author_name="Ada", author_email="ada@example.com", author_login="ada",
                             committed_at=later, health_delta=2, reasons=[])  # fmt: skip
        session.add(new)
        await session.flush()
        update = await lifecycle.record_commit(session, pet.id, 2, datetime.now(UTC), new.id)
        events = await caretaking.credit_commit(session, new, update, RepoConfig(), repo.full_name)
        assert events == []
    done = await caretaking.backfill_caretakers(JobContext({"sessionmaker": pg_sessionmaker}))
    assert done == {"repositories": 1, "analyses": len(commits) + 1}
    async with pg_sessionmaker() as session:
        credited = {c.analysis_id for c in await session.scalars(select(AnalysisCredit))}
        firsts = {g.person_key: g.sha for g in await session.scalars(
            select(Achievement).where(Achievement.code == "first_commit"))}  # fmt: skip
        left = await session.scalar(select(CaretakerBackfill.repository_id))
    assert len(credited) == len(commits) + 1 and left is None
    assert firsts["gh:ada"] == next(c["sha"] for c in commits if c["login"] == "ada")


async def test_caretakers_off_grants_silently(pg_sessionmaker: DB) -> None:
    async with pg_sessionmaker.begin() as session:
        repo = Repository(github_id=12, full_name="o/quiet", owner_login="o")
        session.add(repo)
        await session.flush()
        now = datetime.now(UTC)
        pet = await lifecycle.create_pet(session, repo, now - timedelta(days=2))
        row = CommitAnalysis(repository_id=repo.id, entity_id=pet.id, sha="e" * 40, message="x",
                             author_name="Ada", author_email="ada@example.com", author_login="ada",
                             committed_at=now, health_delta=1, reasons=[])  # fmt: skip
        session.add(row)
        await session.flush()
        update = await lifecycle.record_commit(session, pet.id, 1, now, row.id)
        hidden = parse_config(b"caretakers: off\n")
        assert await caretaking.credit_commit(session, row, update, hidden, repo.full_name) == []
        grants = list(await session.scalars(select(Achievement)))
    assert [g.code for g in grants] == ["first_commit"]  # stored: turning it on shows the truth


async def _seeded_document(sessions: DB) -> dict[str, object]:
    """A history credited by the commit path's code, then the read model's document."""
    commits = history(5, 40)
    async with sessions.begin() as session:
        repo = Repository(github_id=13, full_name="o/both", owner_login="o")
        session.add(repo)
        await session.flush()
        pet = await lifecycle.create_pet(session, repo, T0 - timedelta(hours=1))
        for item in commits:
            row = CommitAnalysis(repository_id=repo.id, entity_id=pet.id, sha=item["sha"],
                                 message=item["message"], author_name=item["name"],
                                 author_email=item["email"], author_login=item["login"],
                                 committed_at=item["at"], processed_at=item["at"],
                                 health_delta=item["delta"], reasons=item["reasons"])  # fmt: skip
            session.add(row)
            await session.flush()
            await caretaking.credit_and_grant(session, row, pet, care_context.step_of(row), T0)
        now = commits[-1]["at"] + timedelta(hours=2)  # type: ignore[operator]
        doc = await caretakers.caretakers(session, pet.id, repo.id, {}, 7, now)
        return doc.json_dict() | {"ids": None, "entity_id": None, "repository_id": None}


async def test_the_read_model_says_the_same_on_postgresql_and_sqlite(
    pg_sessionmaker: DB, sqlite_sessionmaker: DB
) -> None:
    on_pg = await _seeded_document(pg_sessionmaker)
    on_sqlite = await _seeded_document(sqlite_sessionmaker)
    assert on_pg == on_sqlite
    assert on_pg["all_time"]["commits"] == 40  # type: ignore[index]
    assert on_pg["period"]["caretakers"] and on_pg["achievements"]  # type: ignore[index]


async def test_a_commit_that_lifts_a_pet_decay_left_dying_is_a_rescue(pg_sessionmaker: DB) -> None:
    now = datetime.now(UTC)
    async with pg_sessionmaker.begin() as session:
        repo = Repository(github_id=14, full_name="o/rescue", owner_login="o")
        session.add(repo)
        await session.flush()
        pet = await lifecycle.create_pet(session, repo, now - timedelta(days=20))
        pet.health, pet.last_commit_at = 25, now - timedelta(days=10)  # decay takes it to 11
        row = CommitAnalysis(repository_id=repo.id, entity_id=pet.id, sha="r" * 40, message="fix",
                             author_name="Ada", author_email="ada@example.com", author_login="ada",
                             committed_at=now, health_delta=15, reasons=[])  # fmt: skip
        session.add(row)
        await session.flush()
        update = await lifecycle.record_commit(session, pet.id, 15, now, row.id)
        assert update.before.status == "alive" and update.after.status == "alive"
        events = await caretaking.credit_commit(session, row, update, RepoConfig(), repo.full_name)
    assert "rescuer" in {e["code"] for e in events}


async def test_the_backfill_credits_analyses_whose_pet_is_gone(pg_sessionmaker: DB) -> None:
    async with pg_sessionmaker.begin() as session:
        repo = Repository(github_id=15, full_name="o/orphan", owner_login="o")
        session.add(repo)
        await session.flush()
        for i in range(caretaking.BACKFILL_BATCH + 3):  # more than a batch, none with a pet
            session.add(CommitAnalysis(repository_id=repo.id, sha=f"{i:040x}", message="x",
                                       author_name="Ada", author_email="ada@example.com",
                                       committed_at=T0, health_delta=1, reasons=[]))  # fmt: skip
        session.add(CaretakerBackfill(repository_id=repo.id))
    done = await caretaking.backfill_caretakers(JobContext({"sessionmaker": pg_sessionmaker}))
    assert done == {"repositories": 1, "analyses": caretaking.BACKFILL_BATCH + 3}
    async with pg_sessionmaker() as session:
        assert len(list(await session.scalars(select(AnalysisCredit)))) == done["analyses"]
        assert list(await session.scalars(select(Achievement))) == []
