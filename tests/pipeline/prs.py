"""Helpers for the pull request and check run tests: real payloads, the intake, the pet."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import func, select

from app.core.models import Entity
from app.infra.job_context import JobContext
from app.infra.runtime import RUNTIME
from app.jobs.handlers.events import process_event
from tests.conftest import example
from tests.pipeline.conftest import INSTALLATION, Pipeline

BASE = "b" * 40
CONFIG = ".github/tamagitto.yml"
TITLE = re.compile(
    r"^\S+ (?P<name>.+): (?P<before>\d+) → (?P<after>\d+) if merged \((?P<d>[+−±]\d+)\)$"
)


def pr_event(
    action: str,
    number: int,
    head: str,
    *,
    base: str = BASE,
    fork: str | None = None,
    draft: bool = False,
    updated: str = "2026-12-02T10:00:00Z",
) -> dict[str, Any]:
    """A real `pull_request` example for this pull request of REPO into master."""
    payload = example("pull_request", "synchronize")
    payload.update(action=action, number=number, installation={"id": INSTALLATION})
    pr = payload["pull_request"]
    pr.update(number=number, state="open", draft=draft, updated_at=updated)
    pr["head"].update(sha=head, ref="feature")
    if fork is not None:
        pr["head"]["repo"] = {**pr["head"]["repo"], "id": 999, "full_name": fork, "fork": True}
        pr["head"]["label"] = f"{fork.split('/')[0]}:feature"
    pr["base"].update(sha=base, ref="master")
    payload["repository"]["language"] = "Python"
    return payload


def ctx_of(p: Pipeline, job_try: int = 1) -> JobContext:
    """The web process's job ctx: the intake runs exactly as the event job runs it."""
    return JobContext({**p.client.app[RUNTIME].job_ctx(), "job_try": job_try})


async def intake(p: Pipeline, event: str, payload: dict[str, Any], delivery: str = "d") -> None:
    """Handle one event (the `process_event` job) without running the jobs it queues."""
    await process_event(ctx_of(p), event, delivery, json.dumps(payload))


async def pet(p: Pipeline) -> Entity:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        found = await session.scalar(select(Entity))
        assert found is not None
        return found


async def set_health(p: Pipeline, health: int) -> None:
    async with p.client.app[RUNTIME].sessionmaker.begin() as session:
        found = await session.scalar(select(Entity))
        assert found is not None
        found.health = health


async def count(p: Pipeline, model: Any) -> int:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def title_of(run: dict[str, Any]) -> re.Match[str]:
    match = TITLE.match(run["output"]["title"])
    assert match, run["output"]["title"]
    return match


def patches(p: Pipeline, run_id: int) -> list[Any]:
    """The PATCH bodies sent for one check run, in order."""
    return [
        r.body
        for r in p.fake.requests
        if r.method == "PATCH" and r.path.endswith(f"/check-runs/{run_id}")
    ]


def repo_payload() -> dict[str, Any]:
    """REPO as a webhook's `repository` object."""
    payload = example("pull_request", "synchronize")["repository"]
    payload["language"] = "Python"
    return dict(payload)
