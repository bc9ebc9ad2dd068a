"""Handler effects on real example payloads; every handler is idempotent."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from app.core.models import Entity, Installation, Job, Repository
from app.jobs.handlers.events import process_event
from tests.conftest import example
from tests.fakes.github import FakeGitHub


async def run(
    ctx: dict[str, Any], event: str, payload: dict[str, Any], delivery: str = "d"
) -> None:
    await process_event(ctx, event, delivery, json.dumps(payload))


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


async def test_language_fallback_is_blob(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    payload = example("installation", "created")
    fake_github.add_installation(payload["installation"]["id"])  # the repo itself: 404
    await run(ctx, "installation", payload)
    (pet,) = await rows(ctx, Entity)
    assert pet.species == "blob"


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


async def test_push_queues_one_job_per_new_commit(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    payload = push_payload(fake_github)
    payload["commits"].append({"id": payload["commits"][0]["id"], "distinct": False})
    await run(ctx, "push", payload)
    await run(ctx, "push", payload, delivery="redelivered")
    (repo,) = await rows(ctx, Repository)
    expected = sorted(f"analyze:{repo.id}:{c['id']}" for c in payload["commits"][:3])
    assert await queued_jobs(ctx) == expected
    assert repo.last_seen_sha == payload["after"]


async def test_push_to_other_branch_or_tag_is_ignored(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    await run(ctx, "push", push_payload(fake_github, ref="refs/heads/feature"))
    await run(ctx, "push", push_payload(fake_github, ref="refs/tags/v1"))
    assert await queued_jobs(ctx) == []


async def test_config_branches_are_monitored(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    payload = push_payload(fake_github, ref="refs/heads/release/1.0")
    fake_github.contents[
        (payload["repository"]["full_name"], payload["after"], ".github/tamagitto.yml")
    ] = b"branches: [master, 'release/*']\n"
    await run(ctx, "push", payload)
    assert len(await queued_jobs(ctx)) == 3


async def test_truncated_push_is_completed_by_compare(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    payload = push_payload(fake_github, commits=1)
    full = payload["repository"]["full_name"]
    shas = [f"{i:040x}" for i in range(100, 130)]
    for sha in ["f" * 40, *shas]:
        fake_github.add_commit(full, sha, [], branch="master")
    payload["after"] = shas[-1]
    payload["commits"] = [{"id": s, "distinct": True} for s in shas[-3:]] * 700  # 2100 > cap
    await run(ctx, "push", payload)
    jobs = await queued_jobs(ctx)
    assert len([j for j in jobs if j.startswith("analyze:")]) == 30
    assert any(j.startswith("push-status:") for j in jobs)  # > 20 commits: one summary status
    assert fake_github.calls("repos/compare-commits-with-basehead")


async def test_events_without_handlers_are_dropped(ctx: dict[str, Any]) -> None:
    await run(ctx, "star", example("star", "created"))
    await run(ctx, "an_event_nobody_handles", {"action": "x"})
    assert await rows(ctx, Repository) == []


async def test_authorization_revoked_forgets_tokens(ctx: dict[str, Any]) -> None:
    from app.core.models import User

    payload = example("github_app_authorization", "revoked")
    async with ctx["sessionmaker"].begin() as session:
        session.add(
            User(
                github_id=payload["sender"]["id"],
                login="octocat",
                token_ciphertext=b"sealed",
                token_key_id="k1",
            )
        )
    await run(ctx, "github_app_authorization", payload)
    (user,) = await rows(ctx, User)
    assert user.token_ciphertext is None and user.token_key_id is None


async def test_counts(ctx: dict[str, Any], fake_github: FakeGitHub) -> None:
    """Sanity: a full installation leaves exactly one row of each kind."""
    await run(ctx, "installation", installed(fake_github))
    async with ctx["sessionmaker"]() as session:
        for model in (Installation, Repository, Entity):
            assert await session.scalar(select(func.count()).select_from(model)) == 1


async def test_new_branch_push_is_completed_from_the_commits_api(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    """Creating the monitored branch sends no commits; its latest history is listed instead."""
    payload = push_payload(fake_github, commits=1)
    full = payload["repository"]["full_name"]
    shas = [f"{i:040x}" for i in range(200, 205)]
    for sha in shas:
        fake_github.add_commit(full, sha, [], branch="master")
    payload.update(before="0" * 40, created=True, after=shas[-1], commits=[])
    await run(ctx, "push", payload)
    (repo,) = await rows(ctx, Repository)
    assert await queued_jobs(ctx) == sorted(f"analyze:{repo.id}:{s}" for s in shas)
    assert fake_github.calls("repos/list-commits")
