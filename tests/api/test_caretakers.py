"""The caretakers API (issue 18): what it shows, and to whom.

A private repository's caretakers are visible only to people who can see the repository;
`caretakers: off` hides them on every door. Responses are checked against the OpenAPI document.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import CommitAnalysis, Entity, Repository
from app.jobs import care_context, caretaking
from tests.api.conftest import Seeded, bearer, seed_repo, sign_in
from tests.api.test_openapi import Checked
from tests.fakes.github_user import READ, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]
NOW = datetime.now(UTC)
PAIR = "\n\nCo-authored-by: Grace Hopper <grace@example.com>"


async def commit(
    db: DB,
    seeded: Seeded,
    sha: str,
    delta: int,
    *,
    at: datetime,
    login: str | None = "ada",
    message: str = "change",
    reasons: list[dict[str, Any]] | None = None,
) -> None:
    """One applied analysis, credited by the production code."""
    async with db.begin() as session:
        pet = await session.get(Entity, seeded.entity_id)
        assert pet is not None
        row = CommitAnalysis(
            repository_id=seeded.repository_id,
            entity_id=pet.id,
            sha=sha,
            message=message,
            author_name="Ada Lovelace",
            author_email="ada@example.com",
            author_login=login,
            committed_at=at,
            processed_at=at,
            health_delta=delta,
            reasons=reasons or [{"code": "tests_added", "points": delta, "detail": "tests added"}],
        )
        session.add(row)
        await session.flush()
        await caretaking.credit_and_grant(session, row, pet, care_context.step_of(row), at)


async def history(db: DB, seeded: Seeded) -> None:
    await commit(db, seeded, "a" * 40, 6, at=NOW - timedelta(days=40), message="old" + PAIR)
    await commit(db, seeded, "b" * 40, -4, at=NOW - timedelta(days=2),
                 reasons=[{"code": "lint_introduced", "points": -4, "detail": "lint"}])  # fmt: skip
    await commit(db, seeded, "c" * 40, 3, at=NOW - timedelta(days=1), message="fix" + PAIR)
    await commit(db, seeded, "d" * 40, 2, at=NOW, login=None)


async def test_caretakers_of_a_private_pet_for_people_who_can_see_it(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    call = Checked(client)
    seeded = await seed_repo(db, github, "acme/secret", private=True)
    await history(db, seeded)
    github.add_user("ada")
    github.grant("ada", seeded.github_id, READ)
    token = (await sign_in(client, github, "ada"))["session_token"]
    status, doc = await call(
        "GET", f"/api/entities/{seeded.entity_id}/caretakers?days=30", headers=bearer(token)
    )
    assert status == 200 and doc["enabled"] is True and doc["days"] == 30
    month = {c["person"]["key"]: c for c in doc["period"]["caretakers"]}
    ada = month["gh:ada"]
    # b: -4 alone; c: +3 shared with Grace (2 + 1); d: +2 (no login, but the same address)
    assert (ada["added"], ada["taken_away"], ada["net"], ada["commits"]) == (4, 4, 0, 3)
    assert (
        ada["best_commit"]["sha"] == "d" * 40 and ada["best_commit"]["points"] == 2
    )  # latest of equals
    assert ada["best_commit"]["reasons"][0]["code"] == "tests_added"
    assert ada["streak"] == {"current": 2, "best": 2, "last_day": NOW.date().isoformat()}
    everyone = {c["person"]["key"]: c for c in doc["all_time"]["caretakers"]}
    assert everyone["gh:ada"]["commits"] == 4 and everyone["gh:ada"]["added"] == 7
    assert doc["all_time"]["commits"] == 4 and doc["all_time"]["people"] == 2
    assert sum(c["net"] for c in doc["all_time"]["caretakers"]) == 6 - 4 + 3 + 2
    codes = {(a["person"]["key"], a["code"]) for a in doc["achievements"]}
    assert ("gh:ada", "first_commit") in codes and ("gh:ada", "first_test") in codes
    first = next(a for a in doc["achievements"] if a["code"] == "first_commit")
    assert first["title"] and first["commit_sha"]

    stranger = (await sign_in(client, github, "mallory"))["session_token"]
    status, _ = await call(
        "GET", f"/api/entities/{seeded.entity_id}/caretakers", headers=bearer(stranger)
    )
    assert status == 404
    assert (await call("GET", f"/api/entities/{seeded.entity_id}/caretakers"))[0] == 401
    assert (await call("GET", "/api/public/pets/acme/secret/caretakers"))[0] == 404
    status, bad = await call(
        "GET", f"/api/entities/{seeded.entity_id}/caretakers?days=0", headers=bearer(token)
    )
    assert status == 400 and bad["details"]["parameter"] == "days"


async def test_public_caretakers_and_caretakers_off(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    call = Checked(client)
    seeded = await seed_repo(db, github, "acme/open", private=False)
    await history(db, seeded)
    status, doc = await call("GET", "/api/public/pets/acme/open/caretakers?days=7")
    assert status == 200 and doc["enabled"] and len(doc["period"]["caretakers"]) == 2
    assert doc["streak"]["current"] == 2  # the pet's own streak
    async with db.begin() as session:
        await session.execute(
            update(Repository)
            .where(Repository.id == seeded.repository_id)
            .values(config={"caretakers": False})
        )
    status, hidden = await call("GET", "/api/public/pets/acme/open/caretakers")
    assert status == 200
    assert hidden == {
        "entity_id": seeded.entity_id,
        "repository_id": seeded.repository_id,
        "enabled": False,
        "days": 30,
        "achievements": [],
    }
    github.add_user("ada")
    github.grant("ada", seeded.github_id, READ)
    token = (await sign_in(client, github, "ada"))["session_token"]
    status, signed = await call(
        "GET", f"/api/entities/{seeded.entity_id}/caretakers", headers=bearer(token)
    )
    assert status == 200 and signed["enabled"] is False and "period" not in signed
