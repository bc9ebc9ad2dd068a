"""The `forecaster` achievement (issue 18): the first forecast of a person's pull request that
raises health grants it to the author, pointing at the head, once; the pet is not touched."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.care_models import Achievement
from app.core.models import PullRequest
from app.infra.runtime import RUNTIME
from app.jobs.forecast_job import forecast_pull_request
from tests.pipeline.conftest import CALC_AFTER, CALC_BEFORE, REPO, TEST_AFTER, Pipeline
from tests.pipeline.prs import BASE, ctx_of, intake, pet, pr_event, set_health, title_of

F1, F2 = "f1" * 20, "f2" * 20


@pytest.fixture
def installation_permissions() -> dict[str, str] | None:
    """The example installation: it granted `checks: write` (and everything else)."""
    return None


async def the_pull(p: Pipeline) -> PullRequest:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        row = await session.scalar(select(PullRequest))
        assert row is not None
        return row


async def grants(p: Pipeline) -> list[Achievement]:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        return list(await session.scalars(select(Achievement)))


async def test_a_forecast_that_raises_health_earns_its_author_forecaster_once(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    await set_health(p, 70)
    p.fake.add_change(REPO, F1, BASE, {"calc.py": (CALC_BEFORE, CALC_AFTER)}, branch="feature",
                      message="document and clamp")  # fmt: skip
    p.fake.add_change(REPO, F2, F1, {"test_calc.py": (None, TEST_AFTER)}, branch="feature",
                      message="add tests")  # fmt: skip
    p.fake.checks.add_pull(REPO, 5, [F1, F2])
    event = pr_event("opened", 5, F2)
    event["pull_request"]["user"] = {**event["pull_request"]["user"], "login": "Grace"}
    await intake(p, "pull_request", event)
    await p.work()
    (run,) = p.fake.checks.runs_on(F2)
    title = title_of(run)
    delta = int(title["after"]) - int(title["before"])
    assert delta > 0
    pull = await the_pull(p)
    assert (pull.author_login, pull.forecast_delta) == ("Grace", delta)
    (grant,) = await grants(p)
    assert (grant.person_key, grant.login, grant.code, grant.sha) == (
        "gh:grace", "Grace", "forecaster", F2,
    )  # fmt: skip
    assert grant.analysis_id is None and grant.entity_id == (await pet(p)).id
    events = [e for e in p.events.drain() if e["type"] == "achievement"]  # type: ignore[attr-defined]
    assert [(e["code"], e["commit_sha"], e["person"]["key"]) for e in events] == [
        ("forecaster", F2, "gh:grace")
    ]
    assert (await pet(p)).health == 70  # a forecast never changes the pet
    # the same forecast again (a re-run) grants nothing more and sends no event
    await forecast_pull_request(ctx_of(p), pull.repository_id, 5, F2, 0)
    assert len(await grants(p)) == 1
    again = [e for e in p.events.drain() if e["type"] == "achievement"]  # type: ignore[attr-defined]
    assert again == events  # the bus's events accumulate: no new one
    assert (await pet(p)).health == 70
