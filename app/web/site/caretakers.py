"""The pet page's caretakers section: the read model the API shares, rendered on the server.

The pet page is public (public repositories only), so this is what anyone may see; a
repository with `caretakers: off` gets no section at all. People with a GitHub login link to
their profile; others show the name their commits carry (their email never appears).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import care_schemas
from app.core.config import Settings
from app.core.models import Entity, Repository
from app.read import caretakers
from app.web.site.templating import render_partial

DAYS: Final = 30
SHORT: Final = 7
TOP_REASONS: Final = 2
MAX_ACHIEVEMENTS: Final = 30


def _profile(settings: Settings, person: care_schemas.Person) -> str | None:
    """A person's GitHub profile, when a login is known (bots have none to link)."""
    if not person.login or person.bot:
        return None
    return f"{settings.github_url}/{person.login}"


def _commit_url(settings: Settings, full_name: str, sha: str) -> str:
    return f"{settings.github_url}/{full_name}/commit/{sha}"


def _best(settings: Settings, full_name: str, best: care_schemas.BestCommit) -> dict[str, Any]:
    reasons = [r.detail for r in best.reasons if r.points][:TOP_REASONS]
    share = (
        f"{best.points:+d}" if best.points == best.delta else f"{best.points:+d} of {best.delta:+d}"
    )
    return {
        "sha": best.sha,
        "short": best.sha[:SHORT],
        "url": _commit_url(settings, full_name, best.sha),
        "points_text": share,
        "message": best.message,
        "reasons": ", ".join(reasons),
    }


def _rows(settings: Settings, full_name: str, found: care_schemas.CaretakerPeriod) -> list[Any]:
    rows = []
    for item in found.caretakers:
        streak = item.streak.current if item.streak else 0
        rows.append(
            {
                "key": item.person.key,
                "name": item.person.name,
                "profile": _profile(settings, item.person),
                "added": item.added,
                "taken_away": item.taken_away,
                "commits": item.commits,
                "streak": f"{streak} day{'' if streak == 1 else 's'}",
                "best": _best(settings, full_name, item.best_commit) if item.best_commit else None,
            }
        )
    return rows


def _achievements(settings: Settings, full_name: str, doc: care_schemas.Caretakers) -> list[Any]:
    return [
        {
            "title": item.title,
            "description": item.description,
            "name": item.person.name,
            "profile": _profile(settings, item.person),
            "short": item.commit_sha[:SHORT],
            "url": _commit_url(settings, full_name, item.commit_sha),
            "day": item.earned_at[:10],
        }
        for item in doc.achievements[:MAX_ACHIEVEMENTS]
    ]


async def caretakers_html(
    session: AsyncSession, settings: Settings, repository: Repository, entity: Entity, now: datetime
) -> Markup:
    """The section, or nothing when the repository hides its caretakers."""
    doc = await caretakers.caretakers(
        session, entity.id, repository.id, repository.config, DAYS, now
    )
    if not doc.enabled or doc.period is None or doc.all_time is None:
        return Markup("")
    name = repository.full_name
    periods = [
        {"id": "recent", "title": f"Last {DAYS} days", "rows": _rows(settings, name, doc.period),
         "commits": doc.period.commits, "people": doc.period.people},
        {"id": "all-time", "title": "All time", "rows": _rows(settings, name, doc.all_time),
         "commits": doc.all_time.commits, "people": doc.all_time.people},
    ]  # fmt: skip
    streak = doc.streak or care_schemas.Streak(current=0, best=0)
    return render_partial(
        "caretakers.html",
        pet=entity.name,
        periods=periods,
        streak={"current": streak.current, "best": streak.best},
        achievements=_achievements(settings, name, doc),
    )
