"""The public pet page's read model: the public API's shapes and queries, and the page's values.

The shapes and queries are the public API's own (`app.web.api.public`, `app.read.pets`), so the
page shows the same thing before and after pet.js refreshes it from `/api/public/pets/...`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.models import CommitAnalysis, Entity, Repository
from app.entities import lifecycle, rules, shapes
from app.web.api.public import HISTORY_DAYS, RECENT
from app.web.site.landing import state_ranges
from app.web.site.templating import json_for_script, render_partial

MIN_SHA_PREFIX: Final = 7


async def public_pet(session: AsyncSession, full_name: str) -> tuple[Repository, Entity] | None:
    """The repository and its current pet, or None for private or unknown ones."""
    from app.web.api.public import public_repository

    repository = await public_repository(session, full_name)
    if repository is None:
        return None
    entity = await lifecycle.current_pet(session, repository.id)
    return None if entity is None else (repository, entity)


async def analysis_rows(
    session: AsyncSession, repository_id: int, highlight: str | None
) -> list[CommitAnalysis]:
    """The latest analyses, plus the highlighted commit's even when it is older."""
    rows = list(
        await session.scalars(
            select(CommitAnalysis)
            .where(CommitAnalysis.repository_id == repository_id)
            .order_by(CommitAnalysis.processed_at.desc(), CommitAnalysis.id.desc())
            .limit(RECENT)
        )
    )
    if highlight and not any(row.sha.startswith(highlight) for row in rows):
        extra = await session.scalar(
            select(CommitAnalysis)
            .where(CommitAnalysis.repository_id == repository_id)
            .where(CommitAnalysis.sha.startswith(highlight, autoescape=True))
            .limit(1)
        )
        if extra is not None:
            rows.append(extra)
    return rows


def clean_sha(value: str | None) -> str | None:
    """A usable commit prefix from `?sha=`, or None (hex only, at least 7 characters)."""
    if not value:
        return None
    value = value.strip().lower()
    if MIN_SHA_PREFIX <= len(value) <= 64 and all(c in "0123456789abcdef" for c in value):
        return value
    return None


async def pet_payload(
    session: AsyncSession,
    repository: Repository,
    entity: Entity,
    now: datetime,
    highlight: str | None = None,
) -> dict[str, Any]:
    """What the pet page needs, in the public API's shapes, plus the state ranges for the chart.

    Pictures stay relative (same origin), so the page's CSP never depends on PUBLIC_URL.
    """
    from app.read import history, pets

    since = now - timedelta(days=HISTORY_DAYS)
    points = await pets.history(session, entity.id, since)
    rows = await analysis_rows(session, repository.id, highlight)
    found = await pets.outcomes(session, rows)
    return {
        "entity": shapes.entity_to_dict(entity, repository),
        "health_history": pets.bucketed(points, "daily"),
        "changes": await history.repository_changes(session, repository.id, since),
        "recent_analyses": [pets.analysis_json(r, repository, found.get(r.id)) for r in rows],
        "history_days": HISTORY_DAYS,
        "state_ranges": [
            {"state": state, "min": low, "max": high} for state, low, high in state_ranges()
        ],
    }


def config_notice(config: Mapping[str, Any] | None) -> Markup:
    """What was wrong with the repository's `.github/tamagitto.yml`, as the pipeline stored it.

    The file lives in a public repository, so its problems are public too.
    """
    from app.jobs.repo_config import CONFIG_PATH

    errors = [str(e) for e in (config or {}).get("errors") or []]
    warnings = [str(w) for w in (config or {}).get("warnings") or []]
    if not errors and not warnings:
        return Markup("")
    return render_partial(
        "config-notice.html",
        path=CONFIG_PATH,
        has_errors=bool(errors),
        problems=[*errors, *warnings],
    )


def pet_values(
    settings: Settings, payload: dict[str, Any], repository: Repository, live: Mapping[str, bool]
) -> dict[str, object]:
    """Template values of the pet page's server-rendered parts (autoescaped by the template)."""
    entity = payload["entity"]
    full_name = repository.full_name
    state = rules.DEAD_VISUAL if entity["status"] == rules.DEAD else entity["state"]
    owner, repo = full_name.split("/", 1)
    base = settings.public_url
    badge = f"{base}/badge/{full_name}.svg"
    snippet = (
        f"[![{entity['name']}, the Tamagitto pet of {full_name}]({badge})]({base}/pets/{full_name})"
    )
    ws = f"/api/ws?repository={full_name}" if live.get("ws") else ""
    api = f"/api/public/pets/{full_name}" if live.get("api") else ""
    return {
        "NAME": entity["name"],
        "FULL_NAME": full_name,
        "OWNER": owner,
        "REPO": repo,
        "SPECIES": entity["species"],
        "EMOJI": entity.get("emoji", ""),
        "GENERATION": entity["generation"],
        "HEALTH": entity["health_score"],
        "STATE": state,
        "STATE_WORD": state.capitalize(),
        "STATUS": entity["status"],
        "VISUAL_URL": entity["visual_url"],
        "REPO_URL": f"{settings.github_url}/{full_name}",
        "GITHUB_URL": settings.github_url,
        "BADGE_PATH": f"/badge/{full_name}.svg",
        "BADGE_MARKDOWN": snippet,
        "WS_URL": ws,
        "API_URL": api,
        "PET_JSON": Markup(json_for_script(payload)),
        "CONFIG_HTML": config_notice(repository.config),
    }
