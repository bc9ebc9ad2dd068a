"""`POST`/`DELETE /api/entities/{id}/hibernate`: push access, `until` limits, the document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Entity
from tests.api.conftest import bearer, seed_repo, sign_in
from tests.api.test_openapi import Checked
from tests.fakes.github_user import READ, WRITE, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]


async def _user(client: TestClient, github: FakeGitHubUser, login: str) -> dict[str, str]:
    return bearer((await sign_in(client, github, login))["session_token"])


async def test_only_push_access_may_put_a_pet_to_sleep(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    """A reader sees the pet but gets 403 on both verbs; a writer may do both."""
    repo = await seed_repo(db, github, "acme/lib", private=True)
    github.add_user("reader")
    github.add_user("writer")
    github.grant("reader", repo.github_id, READ)
    github.grant("writer", repo.github_id, WRITE)
    reader = await _user(client, github, "reader")
    writer = await _user(client, github, "writer")
    call = Checked(client)
    url = f"/api/entities/{repo.entity_id}/hibernate"

    assert (await call("GET", f"/api/entities/{repo.entity_id}", headers=reader))[0] == 200
    for method in ("POST", "DELETE"):
        status, body = await call(method, url, headers=reader)
        assert (status, body["error"]) == (403, "insufficient_permissions")
    assert (await call("POST", url))[0] == 401

    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    status, body = await call("POST", url, json={"until": until.isoformat()}, headers=writer)
    assert status == 200, body
    assert body["entity"]["sleeping"] is True
    assert datetime.fromisoformat(body["entity"]["sleep_until"]) == until
    assert "asleep until" in body["message"]
    status, body = await call("GET", f"/api/entities/{repo.entity_id}", headers=reader)
    assert body["entity"]["sleeping"] is True

    status, body = await call("DELETE", url, headers=writer)
    assert status == 200 and body["entity"]["sleeping"] is False
    assert body["entity"]["sleep_until"] is None
    status, body = await call("POST", url, headers=writer)  # no body: until the next commit
    assert status == 200 and body["entity"]["sleep_until"] is None
    assert body["message"].endswith("until its next commit.")
    assert {(m, s) for m, _, s in call.seen} >= {("POST", 200), ("DELETE", 200), ("POST", 403)}


async def test_until_is_checked(client: TestClient, github: FakeGitHubUser, db: DB) -> None:
    """Past, beyond 90 days, without an offset or not a time: 400 naming `until`."""
    repo = await seed_repo(db, github, "acme/lib", private=True)
    github.add_user("writer")
    github.grant("writer", repo.github_id, WRITE)
    writer = await _user(client, github, "writer")
    url = f"/api/entities/{repo.entity_id}/hibernate"
    now = datetime.now(UTC)
    for until in (
        (now - timedelta(hours=1)).isoformat(),
        (now + timedelta(days=91)).isoformat(),
        (now + timedelta(days=3)).replace(tzinfo=None).isoformat(),
        "next tuesday",
        12,
    ):
        resp = await client.post(url, json={"until": until}, headers=writer)
        body = await resp.json()
        assert resp.status == 400, (until, body)
        assert (body["error"], body["details"]["parameter"]) == ("invalid_request", "until")
    resp = await client.post(
        url, json={"until": (now + timedelta(days=89)).isoformat()}, headers=writer
    )
    assert resp.status == 200


async def test_a_dead_pet_cannot_rest(client: TestClient, github: FakeGitHubUser, db: DB) -> None:
    """400 entity_dead, and nothing changes."""
    repo = await seed_repo(db, github, "acme/lib", private=True)
    github.add_user("writer")
    github.grant("writer", repo.github_id, WRITE)
    writer = await _user(client, github, "writer")
    died = datetime.now(UTC) - timedelta(hours=1)
    async with db.begin() as session:
        await session.execute(
            update(Entity)
            .where(Entity.id == repo.entity_id)
            .values(status="dead", health=0, died_at=died, zero_since=died - timedelta(days=1))
        )
    resp = await client.post(f"/api/entities/{repo.entity_id}/hibernate", headers=writer)
    assert resp.status == 400 and (await resp.json())["error"] == "entity_dead"
    async with db() as session:
        entity = await session.get(Entity, repo.entity_id)
        assert entity is not None and entity.sleeping_since is None


async def test_invisible_pets_are_not_found(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    """Someone without access to a private repository learns nothing: 404."""
    repo = await seed_repo(db, github, "acme/secret", private=True, installation_id=2)
    stranger = await _user(client, github, "stranger")
    resp = await client.post(f"/api/entities/{repo.entity_id}/hibernate", headers=stranger)
    assert resp.status == 404
