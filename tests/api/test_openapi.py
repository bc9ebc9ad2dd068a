"""The OpenAPI document: valid 3.1, complete, true to real responses, and fuzzed by schemathesis."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import CommitAnalysis, Entity, HealthHistory
from app.web.api.openapi import document
from app.web.api.routes import build
from tests.api.conftest import ClientFactory, bearer, seed_repo, sign_in
from tests.fakes.github_user import ADMIN, WRITE, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]


def test_document_is_valid_openapi_31() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_route_is_described() -> None:
    described = {
        (method.upper(), path)
        for path, item in document()["paths"].items()
        for method in item
        if method != "parameters"
    }
    routes = {
        (route.method, route.resource.canonical)
        for route in build().router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert routes == described


class Checked:
    """Calls the API and validates each response against the document."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.openapi = OpenAPI.from_dict(document())
        self.seen: set[tuple[str, str, int]] = set()

    async def __call__(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        resp: ClientResponse = await self.client.request(method, url, **kwargs)
        data = await resp.read()
        path, _, query = url.partition("?")
        args = dict(p.split("=", 1) for p in query.split("&") if p) if query else {}
        request = MockRequest(
            str(self.client.make_url("")).rstrip("/"),
            method.lower(),
            path,
            args=args,
            headers=kwargs.get("headers") or {},
            data=json.dumps(kwargs["json"]).encode() if "json" in kwargs else None,
        )
        response = MockResponse(
            data, resp.status, headers=dict(resp.headers), content_type=resp.content_type
        )
        self.openapi.validate_response(request, response)
        self.seen.add((method, path, resp.status))
        return resp.status, json.loads(data) if data else None


async def test_real_responses_match_the_document(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    call = Checked(client)
    repo = await seed_repo(db, github, "acme/api", private=True)
    public = await seed_repo(db, github, "acme/open", private=False)
    fresh = github.add_repo(1, "acme/fresh", private=False)
    github.add_user("octocat")
    for github_id in (repo.github_id, public.github_id):
        github.grant("octocat", github_id, WRITE)
    github.grant("octocat", fresh["id"], ADMIN)
    now = datetime.now(UTC)
    async with db.begin() as session:
        row = CommitAnalysis(
            repository_id=repo.repository_id,
            entity_id=repo.entity_id,
            sha="b" * 40,
            message="refactor",
            author_name=None,
            quality_score=61.5,
            health_delta=-3,
            reasons=[{"code": "complexity_up", "points": -3, "detail": "complexity up"}],
            processed_at=now,
        )
        session.add(row)
        await session.flush()
        session.add(
            HealthHistory(
                entity_id=repo.entity_id,
                health_score=97,
                delta=-3,
                reason="commit_analysis",
                analysis_id=row.id,
                recorded_at=now,
            )
        )

    status, _ = await call("POST", "/api/auth/github/initiate", json={"redirect_uri": "nope"})
    assert status == 400
    body = await sign_in(client, github, "octocat")
    headers = bearer(body["session_token"])
    assert (await call("GET", "/api/me", headers=headers))[0] == 200
    assert (await call("GET", "/api/me"))[0] == 401
    assert (await call("GET", "/api/repositories?sort=pushed&per_page=2", headers=headers))[
        0
    ] == 200
    status, _ = await call(
        "POST",
        f"/api/repositories/{fresh['id']}/monitor",
        json={"entity_preferences": {"name": "Fresh"}},
        headers=headers,
    )
    assert status == 201
    assert (await call("DELETE", f"/api/repositories/{fresh['id']}/monitor", headers=headers))[
        0
    ] == 200
    assert (await call("GET", "/api/entities", headers=headers))[0] == 200
    assert (await call("GET", "/api/entities/current", headers=headers))[0] == 200
    assert (await call("GET", f"/api/entities/{repo.entity_id}", headers=headers))[0] == 200
    assert (await call("GET", "/api/entities/424242", headers=headers))[0] == 404
    assert (
        await call(
            "PATCH", f"/api/entities/{repo.entity_id}", json={"name": "Pip"}, headers=headers
        )
    )[0] == 200
    status, history = await call(
        "GET",
        f"/api/entities/{repo.entity_id}/health-history?days=3&granularity=hourly",
        headers=headers,
    )
    assert status == 200 and history["health_history"][0]["commit_sha"] == "b" * 40
    assert (await call("POST", f"/api/entities/{repo.entity_id}/reset", headers=headers))[0] == 409
    died = now - timedelta(hours=2)
    async with db.begin() as session:
        await session.execute(
            update(Entity)
            .where(Entity.id == repo.entity_id)
            .values(status="dead", health=0, died_at=died, zero_since=died - timedelta(days=1))
        )
    status, cooldown = await call("POST", f"/api/entities/{repo.entity_id}/reset", headers=headers)
    assert status == 400 and cooldown["cooldown_expires"]
    status, recent = await call("GET", "/api/analysis/recent?limit=5", headers=headers)
    assert status == 200 and recent["analyses"][0]["health_impact"]["delta"] == -3
    assert (
        await call(
            "POST",
            "/api/analysis/trigger",
            json={"repository_id": repo.repository_id},
            headers=headers,
        )
    )[0] == 202
    assert (await call("GET", "/api/public/pets/acme/open"))[0] == 200
    assert (await call("GET", "/api/public/pets/acme/api"))[0] == 404
    assert (await call("GET", "/api/ws", headers=headers))[0] == 400
    assert (await call("GET", "/api/openapi.json"))[0] == 200
    assert (await call("POST", "/api/auth/refresh", headers=headers))[0] == 200
    assert (await call("POST", "/api/auth/logout", headers=headers))[0] == 401  # refreshed
    assert len(call.seen) == 22
    # The validator is not a no-op: a response that breaks the schema is caught.
    broken = MockResponse(b'{"entity": {"id": "one"}}', 200, headers={})
    request = MockRequest(str(client.make_url("")).rstrip("/"), "get", "/api/entities/1")
    with pytest.raises(Exception, match="nvalid"):
        call.openapi.validate_response(request, broken)


ROOT = Path(__file__).resolve().parents[2]


async def run_schemathesis(base: str, token: str, cwd: Path, config: str = "") -> str:
    """One schemathesis run against the live app; returns its output, asserting exit 0."""
    (cwd / "schemathesis.toml").write_text(config)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    proc = await asyncio.create_subprocess_exec(
        str(schemathesis),
        "run",
        f"{base}/api/openapi.json",
        "--url",
        f"{base}/api",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,response_headers_conformance",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        os.environ.get("SCHEMATHESIS_EXAMPLES", "25"),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--seed",
        "7",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--exclude-path",
        "/auth/logout",
        "--exclude-path",
        "/auth/refresh",
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=500)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    return text


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error_or_schema_break(
    make_client: ClientFactory,
    api_settings: Any,
    github: FakeGitHubUser,
    db: DB,
    tmp_path: Path,
) -> None:
    unlimited = {
        g: 100_000
        for g in ("authentication", "repositories", "entities", "analysis_trigger", "default")
    }
    client = await make_client(api_settings, unlimited)
    repo = await seed_repo(db, github, "acme/api", private=True)
    await seed_repo(db, github, "acme/open", private=False)
    github.add_user("octocat")
    github.grant("octocat", repo.github_id, ADMIN)
    token = (await sign_in(client, github, "octocat"))["session_token"]
    base = str(client.make_url("")).rstrip("/")
    random_ids = await run_schemathesis(base, token, tmp_path)
    assert "passed" in random_ids
    # Again with real ids and names, so the cases reach the handlers' logic, not only 404s.
    known = (
        "[parameters]\n"
        f'"path.id" = {repo.entity_id}\n'
        f'"path.github_repo_id" = {repo.github_id}\n'
        '"path.owner" = "acme"\n'
        '"path.repo" = "open"\n'
    )
    await run_schemathesis(base, token, tmp_path, known)
