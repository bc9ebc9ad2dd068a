"""`app/jobs/handlers/installation_repositories.py`: repositories added and removed."""

from __future__ import annotations

from typing import Any

from app.core.models import Entity, Repository
from tests.conftest import example
from tests.fakes.github import FakeGitHub
from tests.jobs.handlers.helpers import rows, run


async def test_repositories_added_and_removed(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    added = example("installation_repositories", "added")
    fake_github.add_installation(added["installation"]["id"])
    fake_github.add_repo(
        "Codertocat/Space",
        repo_id=added["repositories_added"][0]["id"],
        language="Go",
        installation_id=added["installation"]["id"],
    )
    await run(ctx, "installation_repositories", added)
    (pet,) = await rows(ctx, Entity)
    assert pet.species == "robot"
    removed = example("installation_repositories", "removed")
    await run(ctx, "installation_repositories", removed)
    ids = {r["id"] for r in removed["repositories_removed"]}
    for repo in await rows(ctx, Repository):
        assert repo.monitoring_enabled is (repo.github_id not in ids)
