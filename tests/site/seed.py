"""Seeded pets for the site's tests, written through the pet service like real commits are.

`python -m tests.site.seed DATABASE_URL` seeds a database from the command line; the browser
tests do that before starting `tamagitto serve`.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import db
from app.core.models import CommitAnalysis, Entity, Repository
from app.entities import lifecycle, rules

# The main demo pet: a JavaScript repository with five analysed commits on five days.
MAIN = "octo-org/hello-pets"
PRIVATE = "octo-org/secret-lair"
# One repository per badge state; health chosen inside each state's range.
STATE_HEALTH: dict[str, int] = {
    rules.THRIVING: 91,
    rules.HEALTHY: 72,
    rules.OKAY: 50,
    rules.POOR: 30,
    rules.STATE_DYING: 8,
}
DEAD_REPO = "demo/dead"
# A pet whose history tells every kind of row: a gain at 100 (applied 0), a loss, decay days,
# death, a revival and a commit of the second generation.
STORY = "demo/story"
STORY_COMMITTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # made long before it was analysed

# (days ago, delta, message, reasons) for MAIN's commits, oldest first; the pet is born at 100.
COMMITS: list[tuple[int, int, str, list[dict[str, object]]]] = [
    (6, -12, "Add a giant switch statement", [
        {"code": "complexity_added", "points": -9, "detail": "worst: src/app.js:route (cc 19)"},
        {"code": "lint_introduced", "points": -3, "detail": "7 lint problems on 80 lines added"},
    ]),
    (5, -10, "Quick fix, no tests", [
        {"code": "tests_removed", "points": -5, "detail": "tests -2, 40 source lines"},
        {"code": "poor_quality", "points": -5, "detail": "quality 2.5/10 is below 3"},
    ]),
    (4, 6, "Add tests for the router", [
        {"code": "tests_added", "points": 6, "detail": "tests +4, assertions +9"},
    ]),
    (3, -5, "Refactor the config loader", [
        {"code": "docs_removed", "points": -2, "detail": "-12 comment lines"},
        {"code": "lint_introduced", "points": -3, "detail": "3 lint problems on 30 lines added"},
    ]),
    (1, -7, "Inline the helpers", [
        {"code": "complexity_added", "points": -7, "detail": "worst: src/util.js:merge (cc 14)"},
    ]),
]  # fmt: skip


def sha_for(full_name: str, index: int) -> str:
    """A deterministic 40-hex sha per seeded commit."""
    import hashlib

    return hashlib.sha1(f"{full_name}#{index}".encode()).hexdigest()


@dataclass
class Seeded:
    """What the tests need to know about the seeded rows."""

    main_entity_id: int = 0
    main_repository_id: int = 0
    main_health: int = 0
    main_shas: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)  # state -> full name
    story_shas: list[str] = field(default_factory=list)


async def add_repository(
    session: AsyncSession, full_name: str, github_id: int, language: str, private: bool = False
) -> Repository:
    """A monitored repository row."""
    repository = Repository(
        github_id=github_id,
        full_name=full_name,
        owner_login=full_name.split("/")[0],
        private=private,
        language=language,
    )
    session.add(repository)
    await session.flush()
    return repository


async def add_commit(
    session: AsyncSession,
    repository: Repository,
    entity: Entity,
    sha: str,
    at: datetime,
    delta: int,
    message: str,
    reasons: list[dict[str, object]],
    committed_at: datetime | None = None,
) -> CommitAnalysis:
    """An analysis row plus the pet's health change, as the analyze job records them.

    `at` is when it was analysed; the commit itself was made at `committed_at` (default `at`).
    """
    analysis = CommitAnalysis(
        repository_id=repository.id,
        entity_id=entity.id,
        sha=sha,
        message=message,
        author_name="Octo Cat",
        author_email="octo@example.com",
        committed_at=committed_at or at,
        quality_score=max(0.0, min(10.0, 5 + delta / 4)),
        health_delta=delta,
        reasons=reasons,
        processed_at=at,
    )
    session.add(analysis)
    await session.flush()
    await lifecycle.record_commit(session, entity.id, delta, at, analysis.id)
    return analysis


async def seed_main(session: AsyncSession, now: datetime, seeded: Seeded) -> None:
    """MAIN with five commits on five different days (no decay between them)."""
    repository = await add_repository(session, MAIN, 1001, "JavaScript")
    born = now - timedelta(days=COMMITS[0][0], hours=1)
    entity = await lifecycle.create_pet(session, repository, born)
    for index, (days, delta, message, reasons) in enumerate(COMMITS):
        sha = sha_for(MAIN, index)
        await add_commit(
            session, repository, entity, sha, now - timedelta(days=days), delta, message, reasons
        )
        seeded.main_shas.append(sha)
    seeded.main_entity_id = entity.id
    seeded.main_repository_id = repository.id
    seeded.main_health = entity.health


async def seed_states(session: AsyncSession, now: datetime, seeded: Seeded) -> None:
    """One public repository per health state, one dead pet, one private pet."""
    for offset, (state, health) in enumerate(STATE_HEALTH.items()):
        full_name = f"demo/{state}"
        repository = await add_repository(session, full_name, 2000 + offset, "Python")
        entity = await lifecycle.create_pet(session, repository, now - timedelta(hours=2))
        sha = sha_for(full_name, 0)
        at = now - timedelta(hours=1)
        await add_commit(
            session, repository, entity, sha, at, health - rules.MAX_HEALTH, "Seed", []
        )
        seeded.states[state] = full_name
    dead_repo = await add_repository(session, DEAD_REPO, 2100, "Go")
    dead = await lifecycle.create_pet(session, dead_repo, now - timedelta(days=10))
    dead.health, dead.status, dead.died_at = 0, rules.DEAD, now - timedelta(hours=5)
    seeded.states[rules.DEAD_VISUAL] = DEAD_REPO
    secret = await add_repository(session, PRIVATE, 3000, "Rust", private=True)
    await lifecycle.create_pet(session, secret, now - timedelta(days=1))


async def seed_story(session: AsyncSession, now: datetime, seeded: Seeded) -> None:
    """STORY: +9 at 100, −90, five decay days to 0, death a day later, revival, one commit."""
    repository = await add_repository(session, STORY, 2200, "Python")
    day = timedelta(days=1)
    entity = await lifecycle.create_pet(session, repository, now - 20 * day)
    await add_commit(
        session,
        repository,
        entity,
        sha_for(STORY, 0),
        now - 20 * day + timedelta(hours=1),
        9,
        "Polish",
        [],
    )
    await add_commit(
        session, repository, entity, sha_for(STORY, 1), now - 19 * day, -90, "Rewrite", []
    )
    for days_ago in range(15, 8, -1):  # the daily decay: 10 → 0 in five days, death a day later
        await lifecycle.settle_pet(session, entity, now - days_ago * day)
    born = await lifecycle.revive_pet(session, entity.id, now - 5 * day)
    await add_commit(
        session,
        repository,
        born,
        sha_for(STORY, 2),
        now - 4 * day,
        -8,
        "Start over",
        [],
        STORY_COMMITTED,
    )
    seeded.story_shas = [sha_for(STORY, i) for i in range(3)]


async def seed(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> Seeded:
    """Every seeded pet, in one transaction."""
    seeded = Seeded()
    async with sessionmaker() as session, session.begin():
        await seed_main(session, now, seeded)
        await seed_states(session, now, seeded)
        await seed_story(session, now, seeded)
    return seeded


async def seed_url(url: str) -> Seeded:
    """Seed the database at a SQLAlchemy URL (already migrated)."""
    engine = db.create_engine(url)
    try:
        return await seed(db.make_sessionmaker(engine), datetime.now(UTC))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    print(asyncio.run(seed_url(sys.argv[1])))
