"""`app/jobs/handlers/repository.py`: renames, visibility, branch, archive and deletion."""

from __future__ import annotations

from typing import Any

from app.core.models import Entity, Repository
from tests.conftest import example
from tests.fakes.github import FakeGitHub
from tests.jobs.handlers.helpers import installed, rows, run


async def test_repository_rename_transfer_visibility(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    renamed = example("repository", "renamed")
    inst_payload = installed(fake_github)
    inst_payload["repositories"] = [{**renamed["repository"], "full_name": "Octocoders/Old"}]
    fake_github.add_repo(
        "Octocoders/Old",
        repo_id=renamed["repository"]["id"],
        installation_id=inst_payload["installation"]["id"],
    )
    await run(ctx, "installation", inst_payload)
    await run(ctx, "repository", renamed)
    (repo,) = await rows(ctx, Repository)
    assert repo.full_name == "Octocoders/Hello-World" and repo.owner_login == "Octocoders"
    privatized = {
        **renamed,
        "action": "privatized",
        "repository": {**renamed["repository"], "private": True},
    }
    await run(ctx, "repository", privatized)
    assert (await rows(ctx, Repository))[0].private is True
    edited = {
        **renamed,
        "action": "edited",
        "repository": {**renamed["repository"], "default_branch": "trunk"},
    }
    await run(ctx, "repository", edited)
    assert (await rows(ctx, Repository))[0].default_branch == "trunk"
    archived = {
        **renamed,
        "action": "archived",
        "repository": {**renamed["repository"], "archived": True},
    }
    await run(ctx, "repository", archived)
    assert (await rows(ctx, Entity))[0].frozen is True
    unarchived = {
        **renamed,
        "action": "unarchived",
        "repository": {**renamed["repository"], "archived": False},
    }
    await run(ctx, "repository", unarchived)
    assert (await rows(ctx, Entity))[0].frozen is False
    await run(ctx, "repository", {**renamed, "action": "deleted"})
    assert (await rows(ctx, Repository))[0].monitoring_enabled is False


async def test_unknown_repository_event_creates_nothing(ctx: dict[str, Any]) -> None:
    await run(ctx, "repository", example("repository", "publicized"))
    assert await rows(ctx, Repository) == []
