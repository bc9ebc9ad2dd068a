"""What the handler tests share: delivering an event as the worker does, and reading the result."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from app.core.models import Job
from app.infra.job_context import JobContext
from app.jobs.handlers.events import process_event
from tests.conftest import example
from tests.fakes.github import FakeGitHub


async def run(
    ctx: dict[str, Any], event: str, payload: dict[str, Any], delivery: str = "d"
) -> None:
    await process_event(JobContext(ctx), event, delivery, json.dumps(payload))


async def rows(ctx: dict[str, Any], model: Any) -> list[Any]:
    async with ctx["sessionmaker"]() as session:
        return list((await session.scalars(select(model))).all())


async def queued_jobs(ctx: dict[str, Any]) -> list[str]:
    """Ids of jobs waiting in either queue."""
    if ctx["redis"] is not None:
        return sorted(j.decode() for j in await ctx["redis"].zrange("arq:queue", 0, -1))
    async with ctx["sessionmaker"]() as session:
        return sorted((await session.scalars(select(Job.id))).all())


def installed(fake: FakeGitHub) -> dict[str, Any]:
    payload = example("installation", "created")
    inst = payload["installation"]["id"]
    fake.add_installation(inst, payload["installation"]["account"]["login"])
    for repo in payload["repositories"]:
        fake.add_repo(
            repo["full_name"], repo_id=repo["id"], language="TypeScript", installation_id=inst
        )
    return payload


def push_payload(
    fake: FakeGitHub, commits: int = 3, ref: str = "refs/heads/master"
) -> dict[str, Any]:
    payload = example("push")
    inst = 957387
    fake.add_installation(inst)
    repo = payload["repository"]
    fake.add_repo(
        repo["full_name"],
        repo_id=repo["id"],
        language="Python",
        default_branch="master",
        installation_id=inst,
    )
    shas = [f"{i:040x}" for i in range(1, commits + 1)]
    payload.update(
        ref=ref,
        before="f" * 40,
        after=shas[-1],
        created=False,
        deleted=False,
        installation={"id": inst},
        commits=[{"id": s, "distinct": True, "message": f"commit {s[-1]}"} for s in shas],
    )
    return payload
