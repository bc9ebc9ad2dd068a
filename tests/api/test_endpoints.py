"""Repositories, pets, history, revival, analyses and the public pet, on PostgreSQL and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import CommitAnalysis, Entity, HealthHistory, Repository
from app.infra.registry import LONG_QUEUE
from app.web.api.ratelimit import LIMITS
from tests.api.conftest import PUBLIC_URL, bearer, seed_repo, sign_in
from tests.fakes.github_user import ADMIN, READ, WRITE, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]


async def _user(client: TestClient, github: FakeGitHubUser, login: str) -> dict[str, str]:
    return bearer((await sign_in(client, github, login))["session_token"])


async def test_repositories_lists_accessible_installed_repos(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    mine = await seed_repo(db, github, "acme/api", private=True)
    other = github.add_repo(1, "acme/web", private=False, language="TypeScript")
    hidden = github.add_repo(2, "else/secret", private=True)
    github.add_user("octocat")
    github.grant("octocat", mine.github_id, WRITE)
    github.grant("octocat", other["id"], READ)
    headers = await _user(client, github, "octocat")
    resp = await client.get("/api/repositories?sort=full_name", headers=headers)
    assert resp.status == 200
    body = await resp.json()
    assert body["total_count"] == 2 and body["has_more"] is False
    api, web_repo = body["repositories"]
    assert api["full_name"] == "acme/api" and api["monitoring_enabled"] is True
    assert api["entity"]["id"] == mine.entity_id and api["can_monitor"] is True
    assert web_repo["full_name"] == "acme/web" and web_repo["monitoring_enabled"] is False
    assert web_repo["entity"] is None and web_repo["can_monitor"] is False
    assert hidden["id"] not in {r["id"] for r in body["repositories"]}
    private = await (await client.get("/api/repositories?type=private", headers=headers)).json()
    assert [r["full_name"] for r in private["repositories"]] == ["acme/api"]
    page = await (await client.get("/api/repositories?per_page=1", headers=headers)).json()
    assert len(page["repositories"]) == 1 and page["has_more"] is True


async def test_access_is_cached_for_five_minutes(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    repo = await seed_repo(db, github, "acme/api", private=True)
    github.add_user("octocat")
    github.grant("octocat", repo.github_id, WRITE)
    headers = await _user(client, github, "octocat")
    for _ in range(3):
        assert (await client.get("/api/entities", headers=headers)).status == 200
    assert github.count("/user/installations") == 2  # the listing and one installation's repos


async def test_bad_parameters_are_named(client: TestClient, github: FakeGitHubUser) -> None:
    headers = await _user(client, github, "octocat")
    cases = {
        "/api/repositories?per_page=0": "per_page",
        "/api/repositories?per_page=abc": "per_page",
        "/api/repositories?type=secret": "type",
        "/api/repositories?sort=stars": "sort",
        "/api/entities/abc": "id",
        "/api/entities/99999999999999999999999": "id",
        "/api/entities/1/health-history?days=91": "days",
        "/api/entities/1/health-history?granularity=weekly": "granularity",
        "/api/analysis/recent?limit=51": "limit",
        "/api/analysis/recent?repository_id=x": "repository_id",
    }
    for url, parameter in cases.items():
        resp = await client.get(url, headers=headers)
        assert resp.status == 400, url
        body = await resp.json()
        assert body["error"] == "invalid_request"
        assert body["details"]["parameter"] == parameter, url
        assert set(body) >= {"error", "message", "details", "timestamp"}


async def test_unknown_api_path_gets_the_error_shape(client: TestClient) -> None:
    resp = await client.get("/api/nope")
    assert resp.status == 404
    body = await resp.json()
    assert body["error"] == "not_found" and "timestamp" in body
    resp = await client.put("/api/me")
    assert resp.status == 405
    assert (await resp.json())["error"] == "method_not_allowed"


async def test_monitor_needs_push_rights_and_hatches_a_pet(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    repo = github.add_repo(7, "acme/new", private=True, language="Rust")
    github.add_user("reader")
    github.add_user("writer")
    github.grant("reader", repo["id"], READ)
    github.grant("writer", repo["id"], ADMIN)
    reader = await _user(client, github, "reader")
    writer = await _user(client, github, "writer")
    url = f"/api/repositories/{repo['id']}/monitor"
    resp = await client.post(url, json={}, headers=reader)
    assert resp.status == 403
    assert (await resp.json())["error"] == "insufficient_permissions"
    resp = await client.post(url, json={"entity_preferences": {"type": "dragon"}}, headers=writer)
    assert resp.status == 400
    assert (await resp.json())["details"]["parameter"] == "entity_preferences.type"
    resp = await client.post(
        url, json={"entity_preferences": {"type": "golem", "name": "Rocky"}}, headers=writer
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["repository"]["monitoring_active"] is True
    assert body["repository"]["github_repo_id"] == repo["id"]
    assert body["entity"]["name"] == "Rocky" and body["entity"]["type"] == "golem"
    assert body["entity"]["visual_url"].startswith(PUBLIC_URL + "/images/")
    resp = await client.delete(url, headers=writer)
    assert resp.status == 200
    assert (await resp.json())["entity_archived"] is True
    async with db() as session:
        row = await session.scalar(select(Repository).where(Repository.github_id == repo["id"]))
        assert row is not None and row.monitoring_enabled is False
        pet = await session.scalar(select(Entity).where(Entity.repository_id == row.id))
        assert pet is not None and pet.frozen is True
    resp = await client.post(f"/api/repositories/{repo['id'] + 999}/monitor", headers=writer)
    assert resp.status == 404
    assert (await resp.json())["error"] == "repository_not_found"


async def test_current_history_and_rename(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    old = await seed_repo(db, github, "acme/old", private=True)
    new = await seed_repo(db, github, "acme/new", private=True)
    github.add_user("octocat")
    for seeded in (old, new):
        github.grant("octocat", seeded.github_id, WRITE)
    now = datetime.now(UTC)
    async with db.begin() as session:
        await session.execute(
            update(Entity).where(Entity.id == new.entity_id).values(last_commit_at=now, health=74)
        )
        analysis = CommitAnalysis(
            repository_id=new.repository_id,
            entity_id=new.entity_id,
            sha="a" * 40,
            message="add tests",
            author_name="Octo",
            quality_score=80.0,
            health_delta=4,
            reasons=[{"code": "tests_added", "points": 4, "detail": "tests added"}],
            processed_at=now,
        )
        session.add(analysis)
        await session.flush()
        session.add_all(
            [
                HealthHistory(
                    entity_id=new.entity_id,
                    health_score=80,
                    delta=-20,
                    reason="daily_decay",
                    recorded_at=now - timedelta(days=2),
                ),
                HealthHistory(
                    entity_id=new.entity_id,
                    health_score=70,
                    delta=-10,
                    reason="daily_decay",
                    recorded_at=now - timedelta(days=1),
                ),
                HealthHistory(
                    entity_id=new.entity_id,
                    health_score=74,
                    delta=4,
                    reason="commit_analysis",
                    analysis_id=analysis.id,
                    recorded_at=now,
                ),
            ]
        )
    headers = await _user(client, github, "octocat")
    current = await (await client.get("/api/entities/current", headers=headers)).json()
    assert current["entity"]["id"] == new.entity_id
    assert current["entity"]["repository"] == {
        "id": new.repository_id,
        "full_name": "acme/new",
        "language": "Python",
    }
    assert current["entity"]["health_score"] == 74 and current["entity"]["state"] == "healthy"
    assert [p["score"] for p in current["health_trend"]] == [80, 70, 74]
    resp = await client.get(
        f"/api/entities/{new.entity_id}/health-history?days=7&granularity=hourly",
        headers=headers,
    )
    history = await resp.json()
    assert [p["health_score"] for p in history["health_history"]] == [80, 70, 74]
    assert history["health_history"][-1]["commit_sha"] == "a" * 40
    assert history["summary"] == {"current_health": 74, "trend": "declining", "days_tracked": 1}
    assert [p["applied"] for p in history["health_history"]] == [-20, -10, 4]
    changes = history["changes"]
    assert [(c["health_before"], c["health_score"]) for c in changes] == [
        (100, 80),
        (80, 70),
        (70, 74),
    ]
    assert [c["decay_start"] for c in changes] == [True, False, False]
    assert changes[-1]["scored_delta"] == 4 and changes[-1]["commit_sha"] == "a" * 40
    recent = await (await client.get("/api/analysis/recent", headers=headers)).json()
    (item,) = recent["analyses"]
    assert item["commit"]["sha"] == "a" * 40
    assert item["health_impact"] == {
        "delta": 4,
        "reason": "tests added",
        "reasons": [{"code": "tests_added", "points": 4, "detail": "tests added"}],
        "applied": 4,
        "health_after": 74,
        "applied_note": None,
    }
    resp = await client.patch(
        f"/api/entities/{new.entity_id}", json={"name": "Biscuit"}, headers=headers
    )
    assert resp.status == 200
    assert (await resp.json())["entity"]["name"] == "Biscuit"
    resp = await client.patch(
        f"/api/entities/{new.entity_id}", json={"name": "x" * 41}, headers=headers
    )
    assert (await resp.json())["details"]["parameter"] == "name"
    listed = await (await client.get("/api/entities", headers=headers)).json()
    assert [e["id"] for e in listed["entities"]] == [new.entity_id, old.entity_id]


async def test_no_active_entity(client: TestClient, github: FakeGitHubUser) -> None:
    headers = await _user(client, github, "octocat")
    resp = await client.get("/api/entities/current", headers=headers)
    assert resp.status == 404
    assert (await resp.json())["error"] == "no_active_entity"


async def test_reset_respects_the_cooldown(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    repo = await seed_repo(db, github, "acme/api", private=True)
    github.add_user("octocat")
    github.grant("octocat", repo.github_id, WRITE)
    headers = await _user(client, github, "octocat")
    url = f"/api/entities/{repo.entity_id}/reset"
    resp = await client.post(url, headers=headers)
    assert resp.status == 409
    assert (await resp.json())["error"] == "entity_alive"
    died = datetime.now(UTC) - timedelta(hours=1)
    async with db.begin() as session:
        await session.execute(
            update(Entity)
            .where(Entity.id == repo.entity_id)
            .values(status="dead", health=0, died_at=died, zero_since=died - timedelta(days=1))
        )
    resp = await client.post(url, headers=headers)
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "cooldown_active"
    expires = datetime.fromisoformat(body["cooldown_expires"])
    assert abs(expires - (died + timedelta(hours=48))) < timedelta(seconds=1)
    resp = await client.patch(
        f"/api/entities/{repo.entity_id}", json={"name": "Zed"}, headers=headers
    )
    assert (await resp.json())["error"] == "entity_dead"
    async with db.begin() as session:
        long_ago = datetime.now(UTC) - timedelta(hours=49)
        await session.execute(
            update(Entity).where(Entity.id == repo.entity_id).values(died_at=long_ago)
        )
    resp = await client.post(url, headers=headers)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["entity"]["generation"] == 2 and body["entity"]["status"] == "alive"
    assert body["entity"]["name"].endswith(" II")


async def test_trigger_is_limited_to_five_a_minute(
    make_client, api_settings, github: FakeGitHubUser, db: DB
) -> None:
    client = await make_client(api_settings)
    repo = await seed_repo(db, github, "acme/api", private=True)
    github.add_user("octocat")
    github.grant("octocat", repo.github_id, WRITE)
    headers = await _user(client, github, "octocat")
    statuses = []
    for _ in range(6):
        resp = await client.post(
            "/api/analysis/trigger", json={"repository_id": repo.repository_id}, headers=headers
        )
        statuses.append(resp.status)
    assert statuses == [202] * 5 + [429]
    assert client.app[LIMITS]["analysis_trigger"] == 5
    resp = await client.post("/api/analysis/trigger", json={}, headers=headers)
    assert resp.status in (400, 429)


async def test_public_pet_page(client: TestClient, github: FakeGitHubUser, db: DB) -> None:
    public = await seed_repo(db, github, "acme/Open", private=False)
    await seed_repo(db, github, "acme/closed", private=True)
    resp = await client.get("/api/public/pets/ACME/open")
    assert resp.status == 200
    body = await resp.json()
    assert body["entity"]["id"] == public.entity_id
    assert body["repository"]["full_name"] == "acme/Open"
    assert body["recent_analyses"] == [] and "summary" in body
    for path in (
        "/api/public/pets/acme/closed",
        "/api/public/pets/acme/unknown",
        "/api/public/pets/acme/%00x",
    ):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert (await resp.json())["error"] == "repository_not_found"


async def test_cors_only_for_the_extension_and_the_site(client: TestClient) -> None:
    from tests.api.conftest import EXTENSION_ID

    for origin in (f"chrome-extension://{EXTENSION_ID}", PUBLIC_URL):
        resp = await client.options(
            "/api/me",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
        resp = await client.get("/api/me", headers={"Origin": origin})
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert "X-RateLimit-Remaining" in resp.headers["Access-Control-Expose-Headers"]
    for origin in ("chrome-extension://someoneelse", "https://evil.example"):
        resp = await client.options(
            "/api/me", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
        )
        assert resp.status == 403
        assert "Access-Control-Allow-Origin" not in resp.headers
        resp = await client.get("/api/me", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_monitoring_queues_the_new_pets_pictures(
    make_client: Any,
    make_settings: Any,
    api_env: dict[str, str],
    github: FakeGitHubUser,
    redis_url: str,
) -> None:
    """With a Gemini key, a pet hatched through the API gets its picture job at once."""
    from redis.asyncio import Redis

    client = await make_client(make_settings(**api_env, GEMINI_API_KEY="AIza-test-key"))
    repo = github.add_repo(7, "acme/pics", private=True, language="Go")
    github.add_user("writer")
    github.grant("writer", repo["id"], ADMIN)
    writer = await _user(client, github, "writer")
    resp = await client.post(f"/api/repositories/{repo['id']}/monitor", json={}, headers=writer)
    assert resp.status == 201
    entity_id = (await resp.json())["entity"]["id"]
    redis = Redis.from_url(redis_url)
    try:
        queued = {j.decode() for j in await redis.zrange(LONG_QUEUE, 0, -1)}  # a long job
    finally:
        await redis.aclose()
    assert f"generate_images:{entity_id}:all" in queued
