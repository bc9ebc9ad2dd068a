"""The history the pet page and the extension show: rows that add up, applied next to scored.

A pet lives through commits at and near the top, a month without commits (decay, death), and
a revival, all through the real service and cron, on both databases; then the rows read back
through `app.read.history` and the analyses through `app.read.pets.outcomes`.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import CommitAnalysis, Entity, Repository
from app.entities import lifecycle, rules
from app.entities.cron import run_cron
from app.read import history, pets
from tests.entities.conftest import T0, add_repository

Maker = async_sessionmaker[AsyncSession]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# (hours after birth, scored delta): at 100 (+9 applies 0), a loss, then gains below and inside
# the thriving band (79 + 9 = 88 in full; at 88, +9 shrinks to 9 * 12 // 20 = 5).
COMMITS = [(1, 9), (2, -30), (3, 9), (4, 9), (5, 9)]


async def commit(
    maker: Maker, repo: Repository, pet_id: int, index: int, at: Any, delta: int
) -> CommitAnalysis:
    """An analysis row and its change, as the analyze job records them."""
    async with maker() as session, session.begin():
        row = CommitAnalysis(
            repository_id=repo.id,
            entity_id=pet_id,
            sha=f"{index:040x}",
            message=f"commit {index}",
            committed_at=at - 10 * HOUR,
            quality_score=5.0,
            health_delta=delta,
            reasons=[],
            processed_at=at,
        )
        session.add(row)
        await session.flush()
        await lifecycle.record_commit(session, pet_id, delta, at, row.id)
    return row


async def life(maker: Maker) -> tuple[Repository, Entity, list[CommitAnalysis]]:
    """Birth, the commits, decay to zero and death (cron), a late commit, then a revival.

    Returns the repository, the first generation (as it was at birth) and the analyses.
    """
    repo = await add_repository(maker)
    async with maker() as session, session.begin():
        pet = await lifecycle.create_pet(session, repo, T0)
    rows = [
        await commit(maker, repo, pet.id, i, T0 + h * HOUR, d) for i, (h, d) in enumerate(COMMITS)
    ]
    for day in range(4, 60):  # the hourly cron, once a day: decay days, then death
        await run_cron(maker, T0 + day * DAY + 6 * HOUR)
    late = T0 + 60 * DAY
    rows.append(await commit(maker, repo, pet.id, 99, late, 5))
    async with maker() as session, session.begin():
        await lifecycle.revive_pet(session, pet.id, late + HOUR)
    return repo, pet, rows


async def read(maker: Maker, repo: Repository) -> list[dict[str, Any]]:
    """The pet page's rows for the repository, every generation."""
    async with maker() as session:
        return await history.repository_changes(session, repo.id, T0 - DAY)


async def test_rows_add_up_across_decay_death_and_revival(any_sessionmaker: Maker) -> None:
    repo, _, _ = await life(any_sessionmaker)
    rows = await read(any_sessionmaker, repo)
    assert rows[0]["health_before"] == rules.MAX_HEALTH  # born at 100
    for row in rows:
        assert row["health_score"] == row["health_before"] + row["applied"], row
    for previous, row in pairwise(rows):
        assert row["health_before"] == previous["health_score"], (previous, row)
    reasons = [r["change_reason"] for r in rows]
    assert reasons[:5] == [rules.REASON_COMMIT] * 5
    assert reasons[-2:] == [rules.REASON_DEATH, rules.REASON_REVIVAL]
    assert set(reasons[5:-2]) == {rules.REASON_DECAY}
    assert [r["generation"] for r in rows[-2:]] == [1, 2]
    assert rows[-1]["health_before"] == 0 and rows[-1]["health_score"] == rules.MAX_HEALTH


async def test_applied_next_to_scored_at_the_cap_and_in_the_band(any_sessionmaker: Maker) -> None:
    repo, _, _ = await life(any_sessionmaker)
    commits = [r for r in await read(any_sessionmaker, repo) if r["commit_sha"]]
    got = [(r["health_score"], r["applied"], r["scored_delta"]) for r in commits]
    assert got == [(100, 0, 9), (70, -30, -30), (79, 9, 9), (88, 9, 9), (93, 5, 9)]
    assert commits[0]["committed_at"] == (T0 + HOUR - 10 * HOUR).isoformat()
    assert commits[0]["timestamp"] == (T0 + HOUR).isoformat()


async def test_decay_start_marks_only_the_first_decay_row(any_sessionmaker: Maker) -> None:
    repo, _, _ = await life(any_sessionmaker)
    rows = await read(any_sessionmaker, repo)
    starts = [i for i, r in enumerate(rows) if r["decay_start"]]
    assert starts == [5]
    assert rows[5]["change_reason"] == rules.REASON_DECAY and rows[5]["applied"] < 0


def test_decay_continuing_from_before_the_window_is_no_start() -> None:
    point = pets.Point(T0, 50, -2, rules.REASON_DECAY, None)
    assert history.changes_json([point], rules.REASON_DECAY)[0]["decay_start"] is False
    assert history.changes_json([point], rules.REASON_COMMIT)[0]["decay_start"] is True


async def test_outcomes_say_why_applied_differs(any_sessionmaker: Maker) -> None:
    repo, _, rows = await life(any_sessionmaker)
    async with any_sessionmaker() as session:
        found = await pets.outcomes(session, rows)
        docs = [pets.analysis_json(row, repo, found[row.id]) for row in rows]
    impacts = [(d["health_impact"]["delta"], d["health_impact"]["applied"]) for d in docs]
    assert impacts == [(9, 0), (-30, -30), (9, 9), (9, 9), (9, 5), (5, 0)]
    notes = [d["health_impact"]["applied_note"] for d in docs]
    assert notes == ["max", None, None, None, "thriving", "dead"]
    assert [d["health_impact"]["health_after"] for d in docs] == [100, 70, 79, 88, 93, 0]


async def test_daily_buckets_carry_applied_and_every_reason(any_sessionmaker: Maker) -> None:
    _, first, _ = await life(any_sessionmaker)
    async with any_sessionmaker() as session:
        points = await pets.history(session, first.id, T0 - DAY)
    buckets = pets.bucketed(points, "daily")
    assert buckets[0]["health_before"] == 100 and buckets[0]["health_score"] == 93
    assert buckets[0]["applied"] == buckets[0]["delta"] == -7
    assert buckets[0]["scored_delta"] == 9 - 30 + 9 + 9 + 9
    for previous, bucket in pairwise(buckets):
        assert bucket["health_before"] == previous["health_score"]
    assert rules.REASON_DEATH in {r for b in buckets for r in b["reasons"]}
