"""User A cannot see user B's private pets through REST or the WebSocket; public ones are public."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.infra.runtime import RUNTIME
from tests.api.conftest import bearer, seed_repo, sign_in
from tests.api.test_ws import RUN, next_event, no_event
from tests.fakes.github_user import WRITE, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]


async def test_a_cannot_see_bs_private_pet(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    a_repo = await seed_repo(db, github, "alice/app", private=True)
    b_repo = await seed_repo(db, github, "bob/secret", private=True, installation_id=2)
    open_repo = await seed_repo(db, github, "bob/open", private=False, installation_id=2)
    github.add_user("alice")
    github.add_user("bob")
    github.grant("alice", a_repo.github_id, WRITE)
    github.grant("bob", b_repo.github_id, WRITE)
    github.grant("bob", open_repo.github_id, WRITE)
    alice = bearer((await sign_in(client, github, "alice"))["session_token"])
    bob = bearer((await sign_in(client, github, "bob"))["session_token"])

    listed = await (await client.get("/api/entities", headers=alice)).json()
    assert [e["id"] for e in listed["entities"]] == [a_repo.entity_id]
    b_listed = await (await client.get("/api/entities", headers=bob)).json()
    assert {e["id"] for e in b_listed["entities"]} == {b_repo.entity_id, open_repo.entity_id}

    secret = b_repo.entity_id
    for method, url, body in (
        ("GET", f"/api/entities/{secret}", None),
        ("GET", f"/api/entities/{secret}/health-history", None),
        ("PATCH", f"/api/entities/{secret}", {"name": "Mine now"}),
        ("POST", f"/api/entities/{secret}/reset", None),
    ):
        resp = await client.request(method, url, json=body, headers=alice)
        assert resp.status == 404, url
        assert (await resp.json())["error"] == "entity_not_found"
    resp = await client.get(
        f"/api/analysis/recent?repository_id={b_repo.repository_id}", headers=alice
    )
    assert resp.status == 404 and (await resp.json())["error"] == "repository_not_found"
    resp = await client.post(
        "/api/analysis/trigger", json={"repository_id": b_repo.repository_id}, headers=alice
    )
    assert resp.status == 404
    resp = await client.post(f"/api/repositories/{b_repo.github_id}/monitor", headers=alice)
    assert resp.status == 404
    assert (await client.get(f"/api/entities/{secret}", headers=bob)).status == 200

    # A public repository's pet is visible to anyone signed in, but only its people change it.
    resp = await client.get(f"/api/entities/{open_repo.entity_id}", headers=alice)
    assert resp.status == 200
    resp = await client.patch(
        f"/api/entities/{open_repo.entity_id}", json={"name": "Hijack"}, headers=alice
    )
    assert resp.status == 403


async def test_a_does_not_hear_bs_private_events(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    a_repo = await seed_repo(db, github, "alice/app", private=True)
    b_repo = await seed_repo(db, github, "bob/secret", private=True, installation_id=2)
    github.add_user("alice")
    github.add_user("bob")
    github.grant("alice", a_repo.github_id, WRITE)
    github.grant("bob", b_repo.github_id, WRITE)
    token = (await sign_in(client, github, "alice"))["session_token"]
    sock = await client.ws_connect(f"/api/ws?token={token}")
    try:
        snap = await next_event(sock)
        assert [e["id"] for e in snap["entities"]] == [a_repo.entity_id]
        bus = client.app[RUNTIME].bus
        for kind in ("health_update", "status_change", "analysis_complete"):
            await bus.publish(
                {
                    "type": kind,
                    "repository_id": b_repo.repository_id,
                    "entity_id": b_repo.entity_id,
                    "test_run": RUN,
                }
            )
        await bus.publish({"type": "health_update", "entity_id": b_repo.entity_id, "test_run": RUN})
        await bus.publish(
            {
                "type": "health_update",
                "repository_id": a_repo.repository_id,
                "entity_id": a_repo.entity_id,
                "health_score": 1,
                "test_run": RUN,
            }
        )
        got = await next_event(sock)
        assert got["entity_id"] == a_repo.entity_id
        await no_event(sock)
        # B's private repository is not a public subscription either.
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await client.ws_connect(f"/api/ws?token={token}&repository=bob/secret")
        assert info.value.status == 404
    finally:
        await sock.close()
