"""`app/jobs/handlers/pull_request.py`: the intake creates the check run in progress at once
and queues the forecast; closing the pull request makes queued forecasts skip."""

from __future__ import annotations

from typing import Any

from app.core.models import CheckRun, PullRequest, Repository
from tests.conftest import example
from tests.fakes.github import FakeGitHub
from tests.jobs.handlers.helpers import installed, queued_jobs, rows, run


def opened(action: str = "opened") -> dict[str, Any]:
    payload = example("pull_request", "synchronize")
    payload["action"] = action
    payload["installation"] = {"id": 957387}
    payload["pull_request"].update(state="open", draft=False)
    return payload


async def test_opened_creates_the_run_in_progress_and_queues_the_forecast(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    await run(ctx, "installation", installed(fake_github))  # grants checks: write
    payload = opened()
    pr = payload["pull_request"]
    await run(ctx, "pull_request", payload)
    (created,) = fake_github.checks.runs.values()
    assert (created["status"], created["head_sha"], created["name"]) == (
        "in_progress",
        pr["head"]["sha"],
        "tamagitto",
    )
    (repo,) = await rows(ctx, Repository)
    (row,) = await rows(ctx, PullRequest)
    assert (row.number, row.head_sha, row.state) == (pr["number"], pr["head"]["sha"], "open")
    (recorded,) = await rows(ctx, CheckRun)
    assert (recorded.github_id, recorded.kind) == (created["id"], "forecast")
    job = f"forecast:{repo.id}:{pr['number']}:{pr['head']['sha']}:{created['id']}"
    assert job in await queued_jobs(ctx)
    closed = {**opened("closed")}
    await run(ctx, "pull_request", closed, delivery="closed")
    (row,) = await rows(ctx, PullRequest)
    assert row.state == "closed"


async def test_other_actions_and_drafts_do_nothing(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    await run(ctx, "installation", installed(fake_github))
    labeled = opened("labeled")
    await run(ctx, "pull_request", labeled)
    draft = opened()
    draft["pull_request"]["draft"] = True
    await run(ctx, "pull_request", draft, delivery="draft")
    assert fake_github.checks.runs == {} and await rows(ctx, PullRequest) == []
