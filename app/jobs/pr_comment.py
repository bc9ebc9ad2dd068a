"""The optional pull request comment (`comment: on_change`, default `off`).

One comment per pull request, edited in place, and only when the forecast changed: a push
that leaves the forecast as it was (a rebase, a typo fix elsewhere) touches nothing, so
nobody is notified for nothing. Commenting needs `pull_requests: write` (or `issues: write`);
an installation that granted only `read` gets the check run alone, and the log says why.
"""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI
from sqlalchemy import select

from app.core.models import PullRequest
from app.infra.job_context import JobContext
from app.jobs import check_output, checks
from app.jobs.apply import Target
from app.jobs.forecast import Forecast
from app.jobs.repo_config import RepoConfig

log = logging.getLogger(__name__)

MARKER = "<!-- tamagitto:forecast -->"
ON_CHANGE = "on_change"


def can_comment(permissions: dict[str, Any]) -> bool:
    """Issue comments on a pull request need write access to pull requests or issues."""
    return "write" in (permissions.get("pull_requests"), permissions.get("issues"))


def comment_body(
    fc: Forecast, output: checks.CheckOutput, config: RepoConfig, urls: tuple[str, str]
) -> str:
    """The comment: the title, the commits and where the details are."""
    pet_url, commit_url = urls
    return "\n".join(
        [
            MARKER,
            f"### {output.title}",
            "",
            *check_output.commits_table(fc.commits, commit_url),
            "",
            f"The `{config.context}` check has the details: reasons, worst functions and "
            f"annotations. This comment is edited when the forecast changes. "
            f"[{fc.pet_name}'s page]({pet_url})",
        ]
    )


async def _locked_pull(session: Any, pull_id: int) -> PullRequest | None:
    """The pull request row, locked so two jobs never both post a first comment."""
    found: PullRequest | None = await session.scalar(
        select(PullRequest).where(PullRequest.id == pull_id).with_for_update()
    )
    return found


async def _send(gh: GitHubAPI, target: Target, pull: PullRequest, body: str) -> int:
    """Edit the comment in place; post it when there is none (or it was deleted)."""
    if pull.comment_id:
        try:
            await gh.patch(
                "/repos/{+full_name}/issues/comments/{comment_id}",
                url_vars={"full_name": target.full_name, "comment_id": str(pull.comment_id)},
                data={"body": body},
            )
            return pull.comment_id
        except BadRequest as exc:
            if exc.status_code != 404:
                raise
    data = await gh.post(
        "/repos/{+full_name}/issues/{number}/comments",
        url_vars={"full_name": target.full_name, "number": str(pull.number)},
        data={"body": body},
    )
    return int(data["id"])


async def update(
    ctx: JobContext,
    gh: GitHubAPI,
    target: Target,
    pull: PullRequest,
    fc: Forecast,
    output: checks.CheckOutput,
    config: RepoConfig,
) -> str:
    """Post or edit the comment when asked for and the forecast changed; what was done."""
    if config.comment != ON_CHANGE:
        return "off"
    digest = fc.digest()
    async with ctx.sessionmaker.begin() as session:
        if not can_comment(await checks.permissions_of(session, target.installation_id)):
            log.info("%s: comment: on_change needs pull_requests: write", target.full_name)
            return "not permitted"
        row = await _locked_pull(session, pull.id)
        if row is None or row.comment_digest == digest:
            return "unchanged"
        settings = ctx.settings
        urls = (
            f"{settings.public_url}/pets/{target.full_name}",
            f"{settings.github_url}/{target.full_name}/commit",
        )
        row.comment_id = await _send(gh, target, row, comment_body(fc, output, config, urls))
        row.comment_digest = digest
    return "updated"
