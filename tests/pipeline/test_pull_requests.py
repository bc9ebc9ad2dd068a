"""Pull requests: the forecast check run, in progress at once, superseded heads, forks,
annotations, failures, and the invariant that a merge applies exactly the forecast."""

from __future__ import annotations

from typing import Any

import pytest
from arq import Retry
from sqlalchemy import select

from app.core.models import CommitAnalysis, PullRequest
from app.infra.runtime import RUNTIME
from app.jobs.forecast import PullRef, forecast
from app.jobs.forecast_job import forecast_pull_request
from tests.fakes.code import NESTED
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
    patches,
    pet,
    pr_event,
    set_health,
    title_of,
)

C1, C2, C3 = "c1" * 20, "c2" * 20, "c3" * 20
# The forecast keeps analyses per repository and sha (real shas name their content); the
# merge test's commits differ from the others', so they get shas of their own.
M1, M2, M3 = "d1" * 20, "d2" * 20, "d3" * 20
N1 = "e1" * 20
PET_PAGE = f"http://tamagitto.test/pets/{REPO}"


@pytest.fixture
def installation_permissions() -> dict[str, str] | None:
    """The example installation: it granted `checks: write` (and everything else)."""
    return None


def two_commits(p: Pipeline) -> None:
    p.fake.add_change(REPO, C1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)}, branch="feature",
                      message="document and clamp")  # fmt: skip
    p.fake.add_change(REPO, C2, C1, {"tangle.py": (None, NESTED)}, branch="feature",
                      message="add a tangled function")  # fmt: skip


async def test_opened_then_force_pushed(pipeline: Pipeline) -> None:
    p = pipeline
    await set_health(p, 70)
    two_commits(p)
    p.fake.checks.add_pull(REPO, 7, [C1, C2])
    await intake(p, "pull_request", pr_event("opened", 7, C2, updated="2026-12-02T10:00:00Z"))
    (first,) = p.fake.checks.runs_on(C2)  # created by the intake, before any job ran
    assert (first["status"], first["name"], first["annotations"]) == (
        "in_progress",
        "tamagitto",
        [],
    )
    # a force-push replaces c2 with c3 while c2's forecast is still queued
    p.fake.add_change(REPO, C3, C1, {"test_calc.py": (None, TEST_AFTER)}, branch="feature",
                      message="add tests instead")  # fmt: skip
    p.fake.checks.add_pull(REPO, 7, [C1, C3])
    await intake(p, "pull_request", pr_event("synchronize", 7, C3, updated="2026-12-02T10:05:00Z"))
    await p.work()
    assert (first["status"], first["conclusion"]) == ("completed", "skipped")
    assert first["output"]["title"] == f"Superseded by a newer push ({C3[:7]})"
    (run,) = p.fake.checks.runs_on(C3)
    title = title_of(run)
    assert int(title["before"]) == 70 and int(title["after"]) > 70  # docs and tests: a gain
    assert run["conclusion"] == "success" and run["name"] == "tamagitto"
    summary = run["output"]["summary"]
    for piece in (f"`{C1[:7]}`", f"`{C3[:7]}`", "### Commits", "### Worst functions",
                  "### How the forecast is computed", PET_PAGE):  # fmt: skip
        assert piece in summary, piece
    assert f"`{C2[:7]}`" not in summary
    assert p.fake.checks.in_progress() == []
    assert (await pet(p)).health == 70 and await count(p, CommitAnalysis) == 0  # no change


async def test_merge_applies_exactly_the_forecast(pipeline: Pipeline) -> None:
    """A fix, a change to the fixed file (a hotspot then), and a revert of that change:
    history inside the pull request counts as it will on merge."""
    p = pipeline
    await set_health(p, 70)
    fixed = CALC_AFTER.replace(b"max(low,", b"max(low ,")
    p.fake.add_change(REPO, M1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)}, branch="feature",
                      message="fix crash in clamp")  # fmt: skip
    p.fake.add_change(REPO, M2, M1, {"calc.py": (CALC_AFTER, fixed + NESTED)}, branch="feature",
                      message="tangle calc")  # fmt: skip
    p.fake.add_change(REPO, M3, M2, {"calc.py": (fixed + NESTED, CALC_AFTER)}, branch="feature",
                      message=f'Revert "tangle calc"\n\nThis reverts commit {M2}.')  # fmt: skip
    p.fake.checks.add_pull(REPO, 3, [M1, M2, M3])
    await intake(p, "pull_request", pr_event("opened", 3, M3))
    await p.work()
    (run,) = p.fake.checks.runs_on(M3)
    forecast_after = int(title_of(run)["after"])
    ref = PullRef(p_repo_id := await repository_id(p), REPO, INSTALLATION, 3, M3, "master")
    gh = p.client.app[RUNTIME].github.installation_client(INSTALLATION)
    async with p.client.app[RUNTIME].sessionmaker() as session:
        fc = await forecast(gh, session, ref)
    assert fc.after == forecast_after and fc.before == 70
    assert any(r["code"] == "hotspot" for r in fc.commits[1].reasons)
    assert (
        fc.commits[2].reasons[0]["code"] == "revert" and fc.commits[2].delta == -fc.commits[1].delta
    )
    # merged unchanged (its commits land as they are) onto an unchanged base
    assert await p.deliver("push", p.push([M1, M2, M3], BASE)) == 202
    await p.work()
    assert (await pet(p)).health == forecast_after
    async with p.client.app[RUNTIME].sessionmaker() as session:
        rows = {r.sha: r for r in (await session.scalars(select(CommitAnalysis))).all()}
    assert [rows[c.sha].health_delta for c in fc.commits] == [c.delta for c in fc.commits]
    assert p_repo_id and p.fake.checks.in_progress() == []


async def repository_id(p: Pipeline) -> int:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        row = await session.scalar(select(PullRequest))
        assert row is not None
        return row.repository_id


async def test_fork_pull_request_is_read_through_the_base_repository(pipeline: Pipeline) -> None:
    p = pipeline
    two_commits(p)  # GitHub keeps a fork's pull request commits in the base repository too
    p.fake.checks.add_pull(REPO, 9, [C1, C2])
    assert (
        await p.deliver("pull_request", pr_event("opened", 9, C2, fork="octo-fork/Hello-World"))
        == 202
    )
    await p.work()
    (run,) = p.fake.checks.runs_on(C2)
    assert run["status"] == "completed" and f"`{C2[:7]}`" in run["output"]["summary"]
    assert int(title_of(run)["after"]) < 100  # the tangled function costs health
    assert not [r.path for r in p.fake.requests if "octo-fork" in r.path]
    async with p.client.app[RUNTIME].sessionmaker() as session:
        (row,) = (await session.scalars(select(PullRequest))).all()
    assert row.head_repo == "octo-fork/Hello-World"


def noisy(lines: int) -> bytes:
    """A module whose every line has trailing whitespace, with one risky call first."""
    body = [b"def risky(text):\n", b"    return eval(text)\n"]
    body += [b"VALUE_%d = %d   \n" % (i, i) for i in range(lines)]
    return b"".join(body)


@pytest.mark.parametrize(("config", "expected"), [(None, 50), (b"annotations: 120\n", 120)])
async def test_annotations_go_50_per_request_up_to_the_cap(
    pipeline: Pipeline, config: bytes | None, expected: int
) -> None:
    p = pipeline
    if config is not None:
        p.fake.contents[(REPO, BASE, CONFIG)] = config
    p.fake.add_change(REPO, N1, BASE, {"noisy.py": (None, noisy(130))}, branch="feature")
    p.fake.checks.add_pull(REPO, 4, [N1])
    await intake(p, "pull_request", pr_event("opened", 4, N1))
    await p.work()
    (run,) = p.fake.checks.runs_on(N1)
    sent = patches(p, run["id"])
    sizes = [len((body.get("output") or {}).get("annotations") or []) for body in sent]
    assert all(size <= 50 for size in sizes) and sum(sizes) == expected == len(run["annotations"])
    assert len(sent) == -(-expected // 50)  # batches while in progress, the last completes
    assert [body.get("status") for body in sent][-1] == "completed"
    assert all("status" not in body for body in sent[:-1])
    first = run["annotations"][0]
    assert first["title"] == "Risky code: eval" and first["annotation_level"] == "warning"
    assert {a["annotation_level"] for a in run["annotations"][1:]} == {"notice"}
    assert all(a["path"] == "noisy.py" for a in run["annotations"])


async def test_a_job_that_fails_for_good_completes_its_run_as_neutral(pipeline: Pipeline) -> None:
    p = pipeline
    two_commits(p)
    p.fake.checks.add_pull(REPO, 5, [C1, C2])
    p.fake.fail("GET", r"/pulls/5/commits$", 502, times=100)
    await intake(p, "pull_request", pr_event("opened", 5, C2))
    (run,) = p.fake.checks.runs_on(C2)
    with pytest.raises(Retry):  # it will run again: the run stays in progress
        await forecast_pull_request(ctx_of(p), await repository_id(p), 5, C2, run["id"])
    assert run["status"] == "in_progress"
    with pytest.raises(Retry):  # the last try: the run is completed, saying why
        await forecast_pull_request(ctx_of(p, 7), await repository_id(p), 5, C2, run["id"])
    assert (run["status"], run["conclusion"]) == ("completed", "neutral")
    assert run["output"]["title"] == "Forecast unavailable"
    assert "GitHub answered 502" in run["output"]["summary"]
    p.fake.faults.clear()
    # refused: stopped at once (the intake's own job, still queued, meets it too)
    p.fake.fail("GET", r"/pulls/5/commits$", 404, times=10)
    await intake(p, "check_suite", suite_event(C2))
    await p.work()
    latest = p.fake.checks.runs_on(C2)[-1]
    assert (latest["conclusion"], latest["output"]["title"]) == ("neutral", "Forecast unavailable")
    assert "GitHub answered 404" in latest["output"]["summary"]
    assert p.fake.checks.in_progress() == []


def suite_event(head: str) -> dict[str, Any]:
    from tests.conftest import example
    from tests.pipeline.prs import repo_payload

    payload = example("check_suite", "rerequested")
    payload["check_suite"]["head_sha"] = head
    payload["repository"] = repo_payload()
    payload["installation"] = {"id": INSTALLATION}
    payload["check_suite"]["app"] = {**payload["check_suite"]["app"], "id": 4242}
    return payload


async def test_drafts_wait_for_ready_for_review(pipeline: Pipeline) -> None:
    p = pipeline
    two_commits(p)
    p.fake.checks.add_pull(REPO, 6, [C1, C2])
    await intake(p, "pull_request", pr_event("opened", 6, C2, draft=True))
    assert p.fake.checks.runs == {}
    await intake(p, "pull_request", pr_event("ready_for_review", 6, C2))
    await p.work()
    (run,) = p.fake.checks.runs_on(C2)
    assert run["status"] == "completed"


async def test_unmonitored_base_gets_nothing(pipeline: Pipeline) -> None:
    p = pipeline
    two_commits(p)
    payload = pr_event("opened", 8, C2)
    payload["pull_request"]["base"]["ref"] = "experiments"
    await intake(p, "pull_request", payload)
    assert p.fake.checks.runs == {} and p.fake.statuses == []


O1 = "e7" * 20


async def test_org_level_config_with_extends_names_and_gates_the_check(pipeline: Pipeline) -> None:
    """No config in the repository: the owner's `.github` repository's applies, merged over
    the base it `_extends`."""
    p = pipeline
    await set_health(p, 70)
    for name in (".github", "pet-settings"):
        p.fake.add_repo(f"Codertocat/{name}", installation_id=INSTALLATION)
    p.fake.contents[("Codertocat/.github", "main", CONFIG)] = (
        b"_extends: pet-settings:pets/base.yml\ncontext: org-pets\n"
    )
    p.fake.contents[("Codertocat/pet-settings", "main", "pets/base.yml")] = (
        b"fail_below: 95\ncontext: base-pets\nannotations: 3\n"
    )
    p.fake.add_change(REPO, O1, BASE, {"tangle.py": (None, NESTED)}, branch="feature")
    p.fake.checks.add_pull(REPO, 13, [O1])
    await intake(p, "pull_request", pr_event("opened", 13, O1))
    await p.work()
    (run,) = p.fake.checks.runs_on(O1)
    assert run["name"] == "org-pets"  # the org file's own key wins over its base's
    assert run["conclusion"] == "failure"  # fail_below: 95 from the base, the forecast is under
    assert "fail_below: 95" in run["output"]["summary"]
    assert len(run["annotations"]) <= 3
