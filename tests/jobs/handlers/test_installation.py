"""`app/jobs/handlers/installation.py`: installed, uninstalled, suspended, new permissions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.core.models import Entity, Installation, Repository
from app.infra.job_context import JobContext
from tests.conftest import example
from tests.fakes.github import FakeGitHub
from tests.jobs.handlers.helpers import installed, rows, run

TOKENS = "apps/create-installation-access-token"


async def test_installation_created_gives_pets_by_language(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    payload = installed(fake_github)
    await run(ctx, "installation", payload)
    await run(ctx, "installation", payload)  # idempotent
    (inst,) = await rows(ctx, Installation)
    assert inst.account_login == "Codertocat" and inst.deleted_at is None
    (repo,) = await rows(ctx, Repository)
    assert (repo.full_name, repo.language, repo.monitoring_enabled) == (
        "Codertocat/Hello-World",
        "TypeScript",
        True,
    )
    (pet,) = await rows(ctx, Entity)
    assert pet.species == "pet" and pet.health == 100 and pet.status == "alive"
    assert fake_github.calls("repos/get")  # the language came from GitHub
    assert len(fake_github.calls("apps/create-installation-access-token")) == 1  # cached


async def test_uninstall_keeps_history(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    created = installed(fake_github)
    await run(ctx, "installation", created)
    deleted = {**example("installation", "deleted"), "installation": created["installation"]}
    await run(ctx, "installation", deleted)
    await run(ctx, "installation", deleted)
    (inst,) = await rows(ctx, Installation)
    assert inst.deleted_at is not None
    (repo,) = await rows(ctx, Repository)
    assert repo.monitoring_enabled is False
    (pet,) = await rows(ctx, Entity)
    assert pet.frozen is True and pet.status == "alive"


async def test_suspend_and_unsuspend(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    created = installed(fake_github)
    await run(ctx, "installation", created)
    inst = created["installation"]
    await run(ctx, "installation", {**example("installation", "suspend"), "installation": inst})
    assert (await rows(ctx, Installation))[0].suspended_at is not None
    assert (await rows(ctx, Entity))[0].frozen is True
    await run(ctx, "installation", {**example("installation", "unsuspend"), "installation": inst})
    assert (await rows(ctx, Installation))[0].suspended_at is None
    assert (await rows(ctx, Entity))[0].frozen is False


async def test_counts(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    """Sanity: a full installation leaves exactly one row of each kind."""
    await run(ctx, "installation", installed(fake_github))
    async with ctx["sessionmaker"]() as session:
        for model in (Installation, Repository, Entity):
            assert await session.scalar(select(func.count()).select_from(model)) == 1


async def test_new_permissions_are_recorded_and_the_old_token_dropped(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    """The cached token carries the old scope: the next call must mint a new one."""
    created = installed(fake_github)
    await run(ctx, "installation", created)
    assert len(fake_github.calls(TOKENS)) == 1
    granted = {**created["installation"]["permissions"], "pull_requests": "read"}
    accepted = {
        **example("installation", "new_permissions_accepted"),
        "installation": {**created["installation"], "permissions": granted},
    }
    await run(ctx, "installation", accepted)
    (inst,) = await rows(ctx, Installation)
    assert inst.permissions == granted
    app = JobContext(ctx).github
    assert app is not None
    await app.tokens.get(int(created["installation"]["id"]))
    assert len(fake_github.calls(TOKENS)) == 2
