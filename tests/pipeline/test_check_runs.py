"""Check runs on pushes (`report:`), re-runs, the PR comment, and an installation without
`checks: write` that keeps statuses until it accepts the new permissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.core.models import CheckRun, CommitAnalysis, HealthHistory
from app.infra.runtime import RUNTIME
from app.jobs.apply import load_target
from app.jobs.commit_checks import announce, sweep_check_runs
from app.jobs.repo_config import RepoConfig
from tests.conftest import example
from tests.fakes.code import NESTED
from tests.fakes.github_checks import final_statuses
from tests.pipeline.conftest import (
    CALC_AFTER,
    CALC_BEFORE,
    INSTALLATION,
    REPO,
    TEST_AFTER,
    Pipeline,
)
from tests.pipeline.prs import (
    BASE,
    CONFIG,
    count,
    ctx_of,
    intake,
    pet,
    pr_event,
    repo_payload,
    set_health,
)

P1, P2 = "f1" * 20, "f2" * 20
Q1, Q2 = "a7" * 20, "a8" * 20


def push_commits(p: Pipeline) -> list[str]:
    p.add_commit(P1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)}, "document and clamp")
    p.add_commit(P2, P1, {"tangle.py": (None, NESTED)}, "add a tangled function")
    return [P1, P2]


def run_event(run: dict[str, Any]) -> dict[str, Any]:
    """A real `check_run.rerequested` example for one of our runs."""
    payload = example("check_run", "rerequested")
    payload["check_run"].update(id=run["id"], head_sha=run["head_sha"], name=run["name"])
    payload["check_run"]["app"] = {**payload["check_run"]["app"], "id": 4242}
    payload["repository"] = repo_payload()
    payload["installation"] = {"id": INSTALLATION}
    return payload


class TestWithChecks:
    """The example installation granted `checks: write`: pushes default to check runs."""

    @pytest.fixture
    def installation_permissions(self) -> dict[str, str] | None:
        return None

    async def test_push_gets_a_check_run_per_commit_in_progress_first(
        self, pipeline: Pipeline
    ) -> None:
        p = pipeline
        shas = push_commits(p)
        assert await p.deliver("push", p.push(shas, BASE)) == 202
        await p.work()
        # each commit's job created its run in progress first, then completed it
        for sha in shas:
            states = [status for _, status, _, head in p.fake.checks.stamps if head == sha]
            assert states == ["in_progress", "completed"], (sha, states)
        runs = {r["head_sha"]: r for r in p.fake.checks.runs.values()}
        assert set(runs) == set(shas) and p.fake.statuses == []
        tangled = runs[P2]
        assert tangled["status"] == "completed" and tangled["conclusion"] == "neutral"
        assert "/100 (" in tangled["output"]["title"] and "tangled" in tangled["output"]["summary"]
        assert any(a["title"].startswith("Burden +") for a in tangled["annotations"])
        assert runs[P1]["conclusion"] == "success"
        assert p.fake.checks.in_progress() == []

    async def test_rerun_of_a_push_check_reports_again_without_changing_health(
        self, pipeline: Pipeline
    ) -> None:
        p = pipeline
        assert await p.deliver("push", p.push(push_commits(p), BASE)) == 202
        await p.work()
        health, history = (await pet(p)).health, await count(p, HealthHistory)
        (old,) = p.fake.checks.runs_on(P2)
        await intake(p, "check_run", run_event(old), delivery="rerun-1")
        new = p.fake.checks.runs_on(P2)[-1]
        assert new["id"] != old["id"] and new["status"] == "in_progress"
        await p.work()
        assert new["status"] == "completed" and new["output"]["title"] == old["output"]["title"]
        assert (await pet(p)).health == health and await count(p, HealthHistory) == history
        assert await count(p, CommitAnalysis) == 2

    async def test_rerun_of_a_forecast_and_the_comment_edited_only_on_change(
        self, pipeline: Pipeline
    ) -> None:
        p = pipeline
        await set_health(p, 70)
        p.fake.contents[(REPO, BASE, CONFIG)] = b"comment: on_change\n"
        p.fake.add_change(REPO, Q1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)}, branch="f")
        p.fake.checks.add_pull(REPO, 11, [Q1])
        await intake(p, "pull_request", pr_event("opened", 11, Q1))
        await p.work()
        (comment,) = p.fake.checks.comments.values()
        assert comment["number"] == 11 and "if merged" in comment["body"]
        (first,) = p.fake.checks.runs_on(Q1)
        await intake(p, "check_run", run_event(first), delivery="rerun-2")  # same forecast
        await p.work()
        assert len(p.fake.checks.runs_on(Q1)) == 2 and comment["edits"] == 0
        p.fake.add_change(REPO, Q2, Q1, {"tangle.py": (None, NESTED)}, branch="f")
        p.fake.checks.add_pull(REPO, 11, [Q1, Q2])
        later = pr_event("synchronize", 11, Q2, updated="2026-12-02T11:00:00Z")
        await intake(p, "pull_request", later)
        await p.work()
        assert len(p.fake.checks.comments) == 1 and comment["edits"] == 1  # edited in place
        assert f"`{Q2[:7]}`" in comment["body"]
        assert (await pet(p)).health == 70 and p.fake.checks.in_progress() == []

    async def test_report_both(self, pipeline: Pipeline) -> None:
        p = pipeline
        shas = push_commits(p)
        p.fake.contents[(REPO, P2, CONFIG)] = b"report: both\n"
        assert await p.deliver("push", p.push(shas, BASE)) == 202
        await p.work()
        assert [s["sha"] for s in final_statuses(p.fake.statuses)] == [P2]  # P1: no config
        assert {r["head_sha"] for r in p.fake.checks.runs.values()} == set(shas)


class TestWithoutChecks:
    """An installation that never accepted `checks: write` (the fixture's default)."""

    async def test_statuses_until_the_new_permissions_are_accepted(
        self, pipeline: Pipeline
    ) -> None:
        p = pipeline
        p.add_commit(P1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)})
        assert await p.deliver("push", p.push([P1], BASE)) == 202
        await p.work()
        assert [s["state"] for s in p.fake.statuses] == ["pending", "success"]
        assert p.fake.checks.runs == {}
        p.fake.add_change(REPO, Q1, P1, {"test_calc.py": (None, TEST_AFTER)}, branch="f")
        p.fake.checks.add_pull(REPO, 12, [Q1])
        assert await p.deliver("pull_request", pr_event("opened", 12, Q1, base=P1)) == 202
        await p.work()
        forecast = [s for s in p.fake.statuses if s["sha"] == Q1]
        assert [s["state"] for s in forecast] == ["pending", "success"]
        assert "if merged" in forecast[-1]["description"] and p.fake.checks.runs == {}
        accepted = example("installation", "new_permissions_accepted")
        accepted["installation"]["id"] = INSTALLATION
        p.fake.installations[INSTALLATION]["permissions"] = accepted["installation"]["permissions"]
        assert await p.deliver("installation", accepted) == 202
        p.add_commit(P2, P1, {"tangle.py": (None, NESTED)})
        assert await p.deliver("push", p.push([P2], P1)) == 202
        await p.work()
        (run,) = p.fake.checks.runs_on(P2)
        assert run["status"] == "completed"
        assert not [s for s in p.fake.statuses if s["sha"] == P2]


class TestSweep:
    """A run whose job was lost (a worker killed for good, a queue flushed) is completed."""

    @pytest.fixture
    def installation_permissions(self) -> dict[str, str] | None:
        return None

    async def test_runs_left_in_progress_are_completed_as_neutral(self, pipeline: Pipeline) -> None:
        p = pipeline
        p.add_commit(P1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)})
        target = await load_target(ctx_of(p), await repository_id(p))
        assert target is not None
        gh = p.client.app[RUNTIME].github.installation_client(INSTALLATION)
        await announce(ctx_of(p), gh, target, [P1], RepoConfig())  # its job never runs
        (run,) = p.fake.checks.runs_on(P1)
        assert await sweep_check_runs(ctx_of(p)) == 0  # not stale yet
        async with p.client.app[RUNTIME].sessionmaker.begin() as session:
            await session.execute(
                update(CheckRun).values(updated_at=datetime.now(UTC) - timedelta(minutes=20))
            )
        assert await sweep_check_runs(ctx_of(p)) == 1
        assert (run["status"], run["conclusion"]) == ("completed", "neutral")
        assert "did not finish in time" in run["output"]["summary"]
        assert await sweep_check_runs(ctx_of(p)) == 0


async def repository_id(p: Pipeline) -> int:
    from app.core.models import Repository

    async with p.client.app[RUNTIME].sessionmaker() as session:
        found = await session.scalar(select(Repository.id))
        assert found is not None
        return int(found)
