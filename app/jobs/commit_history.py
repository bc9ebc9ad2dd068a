"""What a repository's past adds to a commit's score in production: reverts and hotspots.

`tamagitto replay` does the same from memory (`app/analysis/replay.py`); here the
past is the database. Both run where commits are applied in order, under the
repository's apply lock (`app/jobs/ordering.py`), so a commit sees exactly the commits
applied before it: the one it reverts, and the fixes that touched its files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.analysis.hotspots import heat_of, is_fix, with_heat
from app.analysis.scoring import Score, reason_dicts, revert_score, reverted_sha, score_from
from app.core.models import CommitAnalysis, FileFix

MAX_PATH = 1024  # longer paths are not counted (the column's width)


def _change(row: CommitAnalysis) -> dict[str, Any]:
    """The change section of a row's metrics document (empty for rows from older versions)."""
    change = (row.detail or {}).get("change")
    return change if isinstance(change, dict) else {}


def _paths(row: CommitAnalysis) -> list[str]:
    """The source files the row's commit changed."""
    return [str(p) for p in _change(row).get("paths", []) if len(str(p)) <= MAX_PATH]


async def reverted_row(
    session: AsyncSession, row: CommitAnalysis, pending: Sequence[CommitAnalysis] = ()
) -> CommitAnalysis | None:
    """The applied commit this one reverts: named by its message, or its exact inverse.

    `pending` are commits that would be applied before this one without being in the
    database yet (a forecast's earlier commits), oldest first: the newest inverse wins, as
    the database's highest id does.
    """
    named = reverted_sha(row.message or "")
    where = (CommitAnalysis.repository_id == row.repository_id) & (CommitAnalysis.id != row.id)
    if named is not None:
        found = await session.scalar(
            select(CommitAnalysis).where(where, CommitAnalysis.sha.startswith(named)).limit(1)
        )
        found = found or next((p for p in pending if p.sha.startswith(named)), None)
        if found is not None:
            return found
    signature = _change(row).get("signature")
    if not signature:
        return None
    newest = next((p for p in reversed(pending) if p.inverse_signature == signature), None)
    return newest or await session.scalar(
        select(CommitAnalysis)
        .where(where, CommitAnalysis.inverse_signature == signature)
        .order_by(CommitAnalysis.id.desc())
        .limit(1)
    )


async def fix_counts(session: AsyncSession, repository_id: int, paths: list[str]) -> dict[str, int]:
    """Earlier fixes of these paths."""
    if not paths:
        return {}
    rows = await session.execute(
        select(FileFix.path, FileFix.fixes).where(
            FileFix.repository_id == repository_id, FileFix.path.in_(paths)
        )
    )
    return {path: fixes for path, fixes in rows.tuples()}


def _score_of(row: CommitAnalysis) -> Score:
    """The row's score as the analysis produced it."""
    poisoned = bool((row.detail or {}).get("poisoned"))
    return score_from(row.quality_score, row.health_delta, list(row.reasons or []), poisoned)


async def history_score(
    session: AsyncSession,
    row: CommitAnalysis,
    pending: Sequence[CommitAnalysis] = (),
    pending_fixes: Mapping[str, int] | None = None,
) -> Score:
    """The row's score once its past is counted: a revert gives back its reverted commit's
    delta, a change to files that needed fixes is charged as a hotspot.

    `pending` and `pending_fixes` are the commits (and their fixes per path) that would be
    applied before this one but are not in the database: a forecast passes them, so that it
    scores exactly as the merge will.
    """
    score = _score_of(row)
    earlier = await reverted_row(session, row, pending)
    if earlier is not None:
        return revert_score(score, earlier.sha, earlier.health_delta)
    if _change(row).get("lines_added"):
        counts = dict(await fix_counts(session, row.repository_id, _paths(row)))
        for path, fixes in (pending_fixes or {}).items():
            counts[path] = counts.get(path, 0) + fixes
        return with_heat(score, heat_of(counts, _paths(row)))
    return score


def settle_row(row: CommitAnalysis, score: Score) -> None:
    """Write the settled score and the inverse signature onto the row."""
    row.health_delta, row.reasons = score.delta, reason_dicts(score)
    row.inverse_signature = _change(row).get("inverse") or None


def fixed_paths(row: CommitAnalysis) -> list[str]:
    """The paths a fix commit adds a fix to; none when the commit is not a fix."""
    return _paths(row) if is_fix(row.message or "") else []


async def apply_history(session: AsyncSession, row: CommitAnalysis) -> None:
    """Give a revert back its reverted commit's delta, or charge a hotspot; then remember.

    Called right after the row is inserted (so a redelivery that fails the unique key
    counts nothing twice) and before its delta reaches the pet. The fix counts move after
    the commit's own score is settled, so a fix is charged for the fixes before it only.
    """
    settle_row(row, await history_score(session, row))
    if fixed_paths(row):
        await count_fix(session, row.repository_id, fixed_paths(row))


async def count_fix(session: AsyncSession, repository_id: int, paths: list[str]) -> None:
    """One more fix for each path (the caller holds the repository's apply lock)."""
    known = await fix_counts(session, repository_id, paths)
    for path in set(paths):
        if path in known:
            fix = await session.get(FileFix, (repository_id, path))
            if fix is not None:
                fix.fixes = known[path] + 1
        else:
            session.add(FileFix(repository_id=repository_id, path=path, fixes=1))
    await session.flush()
