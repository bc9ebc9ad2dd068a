"""`app/jobs/handlers/check_run.py`: a re-run of our forecast gets a new run in progress and a
forecast of its own; another App's run is not ours to re-run."""

from __future__ import annotations

from typing import Any

from tests.conftest import example
from tests.fakes.github import FakeGitHub
from tests.jobs.handlers.helpers import installed, queued_jobs, run
from tests.jobs.handlers.test_pull_request import opened


def rerequested(check_run: dict[str, Any], app_id: int) -> dict[str, Any]:
    payload = example("check_run", "rerequested")
    payload["check_run"].update(id=check_run["id"], head_sha=check_run["head_sha"])
    payload["check_run"]["app"] = {**payload["check_run"]["app"], "id": app_id}
    payload["repository"] = opened()["repository"]
    payload["installation"] = {"id": 957387}
    return payload


async def test_rerequest_starts_a_new_forecast(
    ctx: dict[str, Any], fake_github: FakeGitHub
) -> None:
    await run(ctx, "installation", installed(fake_github))
    await run(ctx, "pull_request", opened())
    (first,) = fake_github.checks.runs.values()
    await run(ctx, "check_run", rerequested(first, 999), delivery="other-app")
    assert len(fake_github.checks.runs) == 1
    await run(ctx, "check_run", rerequested(first, fake_github.app_id), delivery="ours")
    assert len(fake_github.checks.runs) == 2
    second = fake_github.checks.runs_on(first["head_sha"])[-1]
    assert second["status"] == "in_progress"
    assert sum(job.startswith("forecast:") for job in await queued_jobs(ctx)) == 2
