"""`app/jobs/handlers/push.py`: one analysis queued per new distinct commit of a branch."""

from __future__ import annotations

from typing import Any

from app.core.models import Repository
from tests.fakes.github import FakeGitHub
from tests.jobs.handlers.helpers import push_payload, queued_jobs, rows, run


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
