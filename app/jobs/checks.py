"""Check runs: created `in_progress` at once, completed with annotations in batches, and never
left in progress (a job that fails for good completes its run, and a sweep completes the rest).

Only GitHub Apps can create check runs, and only with the installation's `checks: write`. An
installation that has not granted it keeps commit statuses (`report_modes`); the permission
arrives with `installation.new_permissions_accepted`, which the installation handler records.
GitHub takes at most 50 annotations per request, appending each batch to the run's list, so
the batches go out while the run is still in progress and the last request completes it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gidgethub.abc import GitHubAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import CheckRun, Installation
from app.jobs.repo_config import RepoConfig
from app.jobs.statuses import fit

log = logging.getLogger(__name__)

FORECAST = "forecast"  # a pull request's health forecast
COMMIT = "commit"  # a pushed commit's actual delta
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
CHECKS, STATUS = "checks", "status"
MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_TEXT = 65_535  # GitHub's limit for `output.summary` and `output.text`
STALE_AFTER = timedelta(minutes=15)
STARTED_SUMMARY = "Tamagitto is analysing this commit; the result follows in a few seconds."


@dataclass(frozen=True)
class CheckOutput:
    """What a completed check run shows."""

    conclusion: str
    title: str
    summary: str
    annotations: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def can_check(permissions: Mapping[str, Any]) -> bool:
    """Did the installation grant `checks: write`?"""
    return permissions.get("checks") == "write"


def report_modes(config: RepoConfig, permissions: Mapping[str, Any]) -> frozenset[str]:
    """Where results go: `report:` of the config, by default check runs when the installation
    granted them, else commit statuses. Check runs it cannot create fall back to a status."""
    wanted = config.report or (CHECKS if can_check(permissions) else STATUS)
    modes = {CHECKS, STATUS} if wanted == "both" else {wanted}
    if CHECKS in modes and not can_check(permissions):
        return frozenset({STATUS})
    return frozenset(modes)


async def permissions_of(session: AsyncSession, installation_id: int | None) -> dict[str, Any]:
    """The permissions the installation granted, as its last `installation` event said."""
    if installation_id is None:
        return {}
    inst = await session.get(Installation, installation_id)
    return dict(inst.permissions or {}) if inst is not None else {}


def now_iso() -> str:
    """GitHub's timestamp format."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fit_text(text: str) -> str:
    """Markdown cut to GitHub's 65,535 characters, saying so."""
    if len(text) <= MAX_TEXT:
        return text
    note = "\n\n… (cut at GitHub's limit)"
    return text[: MAX_TEXT - len(note)] + note


async def create_in_progress(
    gh: GitHubAPI, full_name: str, name: str, head_sha: str, details_url: str, title: str
) -> int:
    """POST a check run that shows at once that work has started; its id."""
    data = await gh.post(
        "/repos/{+full_name}/check-runs",
        url_vars={"full_name": full_name},
        data={
            "name": name,
            "head_sha": head_sha,
            "status": IN_PROGRESS,
            "started_at": now_iso(),
            "details_url": details_url,
            "output": {"title": title, "summary": STARTED_SUMMARY},
        },
    )
    return int(data["id"])


def batches(annotations: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Groups of at most 50 annotations, one per request; at least one (maybe empty)."""
    size = MAX_ANNOTATIONS_PER_REQUEST
    groups = [list(annotations[i : i + size]) for i in range(0, len(annotations), size)]
    return groups or [[]]


def _output(output: CheckOutput, annotations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The `output` object of one request, with its batch of annotations."""
    body: dict[str, Any] = {"title": output.title[:1000], "summary": fit_text(output.summary)}
    if annotations:
        body["annotations"] = list(annotations)
    return body


async def complete(gh: GitHubAPI, full_name: str, check_run_id: int, output: CheckOutput) -> None:
    """PATCH the run: every batch but the last while it is in progress, then the last one
    with the conclusion, so nobody sees a completed run still gaining annotations."""
    url_vars = {"full_name": full_name, "check_run_id": str(check_run_id)}
    groups = batches(output.annotations)
    for group in groups[:-1]:
        await gh.patch(
            "/repos/{+full_name}/check-runs/{check_run_id}",
            url_vars=url_vars,
            data={"output": _output(output, group)},
        )
    await gh.patch(
        "/repos/{+full_name}/check-runs/{check_run_id}",
        url_vars=url_vars,
        data={
            "status": COMPLETED,
            "conclusion": output.conclusion,
            "completed_at": now_iso(),
            "output": _output(output, groups[-1]),
        },
    )


async def create_completed(
    gh: GitHubAPI, full_name: str, name: str, head_sha: str, details_url: str, output: CheckOutput
) -> int:
    """A run nobody announced (a commit the poller found): created completed with the first
    batch of annotations, the other batches appended after."""
    groups = batches(output.annotations)
    data = await gh.post(
        "/repos/{+full_name}/check-runs",
        url_vars={"full_name": full_name},
        data={
            "name": name,
            "head_sha": head_sha,
            "status": COMPLETED,
            "conclusion": output.conclusion,
            "completed_at": now_iso(),
            "details_url": details_url,
            "output": _output(output, groups[0]),
        },
    )
    check_run_id = int(data["id"])
    for group in groups[1:]:
        await gh.patch(
            "/repos/{+full_name}/check-runs/{check_run_id}",
            url_vars={"full_name": full_name, "check_run_id": str(check_run_id)},
            data={"output": _output(output, group)},
        )
    return check_run_id


async def record(
    session: AsyncSession,
    repository_id: int,
    github_id: int,
    head_sha: str,
    kind: str,
    pull_number: int | None = None,
    status: str = IN_PROGRESS,
) -> None:
    """Remember a run we created, so a job completes it and the sweep finds it if not."""
    session.add(
        CheckRun(
            repository_id=repository_id,
            github_id=github_id,
            head_sha=head_sha,
            kind=kind,
            pull_number=pull_number,
            status=status,
        )
    )
    await session.flush()


async def mark_completed(session: AsyncSession, github_id: int) -> None:
    """The run is completed on GitHub: nothing is left for the sweep."""
    await session.execute(
        update(CheckRun).where(CheckRun.github_id == github_id).values(status=COMPLETED)
    )


async def open_run(
    session: AsyncSession, repository_id: int, head_sha: str, kind: str
) -> CheckRun | None:
    """The newest run of this kind on this commit that is still in progress."""
    found: CheckRun | None = await session.scalar(
        select(CheckRun)
        .where(
            CheckRun.repository_id == repository_id,
            CheckRun.head_sha == head_sha,
            CheckRun.kind == kind,
            CheckRun.status == IN_PROGRESS,
        )
        .order_by(CheckRun.id.desc())
        .limit(1)
    )
    return found


async def by_github_id(session: AsyncSession, github_id: int) -> CheckRun | None:
    """The run GitHub knows by this id, if this App created it."""
    found: CheckRun | None = await session.scalar(
        select(CheckRun).where(CheckRun.github_id == github_id)
    )
    return found


async def stale_runs(session: AsyncSession, now: datetime) -> Sequence[CheckRun]:
    """Runs in progress for longer than any job takes: their job was lost."""
    return (
        await session.scalars(
            select(CheckRun)
            .where(CheckRun.status == IN_PROGRESS, CheckRun.updated_at < now - STALE_AFTER)
            .order_by(CheckRun.id)
            .limit(500)
        )
    ).all()


def neutral(title: str, reason: str) -> CheckOutput:
    """The output of a run that could not finish: informational, saying why."""
    summary = (
        f"Tamagitto could not finish this analysis: {reason}.\n\n"
        "The pet's health is unchanged by this. Re-run the check to try again."
    )
    return CheckOutput("neutral", title, summary)


async def post_status(
    gh: GitHubAPI,
    full_name: str,
    sha: str,
    *,
    state: str,
    description: str,
    context: str,
    target_url: str,
) -> None:
    """POST a commit status (status mode, and installations without `checks: write`)."""
    await gh.post(
        "/repos/{+full_name}/statuses/{sha}",
        url_vars={"full_name": full_name, "sha": sha},
        data={
            "state": state,
            "description": fit(description),
            "context": context,
            "target_url": target_url,
        },
    )
