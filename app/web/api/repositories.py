"""The person's repositories where the App is installed, and switching monitoring on and off."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from aiohttp import web
from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import schemas
from app.core.models import Installation, Repository
from app.core.text import visible
from app.core.times import iso
from app.entities.lifecycle import create_pet, current_pet, set_frozen
from app.entities.species import SPECIES
from app.read import pets
from app.web.api import bodies
from app.web.api.access import Access, require_push
from app.web.api.context import json_body, runtime, utc_now
from app.web.api.entities import NAME_MAX, NAME_SCHEMA, base_url, queue_pictures, viewer
from app.web.api.errors import REPOSITORY_NOT_FOUND, ApiError, invalid
from app.web.api.params import Params, Whole, parse, path_id, printable

Kind = Literal["all", "public", "private"]
Sort = Literal["updated", "created", "pushed", "full_name"]
TYPES = get_args(Kind)
SORTS = get_args(Sort)


class ListQuery(Params):
    """`GET /repositories` query."""

    type: Kind = "all"
    sort: Sort = "updated"
    per_page: Annotated[Whole, Field(ge=1, le=100)] = 30
    page: Annotated[Whole, Field(ge=1, le=10_000)] = 1


class Preferences(Params):
    """`entity_preferences`: the species and name of the pet to hatch."""

    # The schema says what `_species` and `_preferences` accept; the model lets more through
    # so that their messages, not pydantic's, name the limits.
    type: Annotated[str, Field(json_schema_extra={"enum": list(SPECIES)})] | None = None
    name: Annotated[str, Field(max_length=200, json_schema_extra=NAME_SCHEMA)] | None = None

    @field_validator("type")
    @classmethod
    def _species(cls, value: str | None) -> str | None:
        """One of the species the pet rules know."""
        if value is not None and value not in SPECIES:
            raise ValueError(f"must be one of: {', '.join(SPECIES)}")
        return value


class MonitorBody(Params):
    """`POST /repositories/{id}/monitor` body."""

    entity_preferences: Preferences | None = None


def _sort_key(sort: str) -> Any:
    """GitHub's own sort orders: newest first, or by name."""
    if sort == "full_name":
        return lambda r: str(r.get("full_name") or "").lower()
    field = {"updated": "updated_at", "created": "created_at", "pushed": "pushed_at"}[sort]
    return lambda r: str(r.get(field) or "")


def select_page(
    repos: list[dict[str, Any]], kind: str, sort: str, per_page: int, page: int
) -> tuple[list[dict[str, Any]], int, bool]:
    """Filter, sort and cut one page; returns (page, total, has_more)."""
    chosen = [r for r in repos if kind == "all" or bool(r.get("private")) == (kind == "private")]
    chosen.sort(key=_sort_key(sort), reverse=sort != "full_name")
    start = (page - 1) * per_page
    return chosen[start : start + per_page], len(chosen), start + per_page < len(chosen)


async def _rows_by_github_id(session: AsyncSession, ids: list[int]) -> dict[int, Repository]:
    if not ids:
        return {}
    rows = await session.scalars(select(Repository).where(Repository.github_id.in_(ids)))
    return {r.github_id: r for r in rows}


def repository_model(
    info: dict[str, Any], row: Repository | None, pet: schemas.Entity | None, access: Access
) -> schemas.Repository:
    """One list entry: GitHub's facts, our monitoring flag and the pet."""
    return schemas.Repository(
        id=int(info["id"]),
        github_repo_id=int(info["id"]),
        repository_id=row.id if row else None,
        full_name=info["full_name"],
        private=bool(info.get("private")),
        language=info.get("language"),
        default_branch=info.get("default_branch") or "main",
        updated_at=info.get("updated_at"),
        monitoring_enabled=bool(row and row.monitoring_enabled),
        can_monitor=access.can_push(int(info["id"])),
        entity=pet,
    )


async def list_repositories(request: web.Request) -> web.Response:
    """GET /repositories?type=&sort=&per_page=&page=."""
    query = parse(ListQuery, request.query)
    access = await viewer(request)
    chosen, total, more = select_page(
        list(access.repos.values()), query.type, query.sort, query.per_page, query.page
    )
    async with runtime(request).sessionmaker() as session:
        rows = await _rows_by_github_id(session, [int(r["id"]) for r in chosen])
        found = await pets.current_pets(session, rows.values())
    pet_of = {r.github_id: pets.pet_model(e, r, base_url(request)) for e, r in found}
    items = []
    for info in chosen:
        github_id = int(info["id"])
        entry = repository_model(info, rows.get(github_id), pet_of.get(github_id), access)
        items.append(entry.json_dict())
    return web.json_response({"repositories": items, "total_count": total, "has_more": more})


def _preferences(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """`entity_preferences: {type?, name?}`: types by the model, the name's text checked here."""
    prefs = parse(MonitorBody, body).entity_preferences or Preferences()
    name = prefs.name
    if name is not None:
        name = " ".join(visible(name).split())
        if not printable(name, NAME_MAX):
            raise invalid(
                "entity_preferences.name",
                f"`entity_preferences.name` must be 1 to {NAME_MAX} characters.",
            )
    return prefs.type, name


def reachable_repository(request: web.Request, access: Access) -> dict[str, Any]:
    """The repository in the path, if the person reaches it through the App."""
    github_id = path_id(request.match_info, "github_repo_id")
    info = access.repos.get(github_id)
    if info is None:
        raise ApiError(
            404,
            REPOSITORY_NOT_FOUND,
            "No such repository among yours where the App is installed.",
            details={"github_repo_id": github_id},
        )
    return info


async def _installation_id(session: AsyncSession, info: dict[str, Any]) -> int | None:
    """The installation, when its webhook has already created the row (foreign key)."""
    inst = info.get("installation_id")
    if inst is None:
        return None
    return inst if await session.get(Installation, int(inst)) is not None else None


async def ensure_repository(session: AsyncSession, info: dict[str, Any]) -> Repository:
    """The repository's row, created from GitHub's facts if no webhook has created it yet."""
    github_id = int(info["id"])
    row = await session.scalar(select(Repository).where(Repository.github_id == github_id))
    if row is not None:
        return row
    row = Repository(
        github_id=github_id,
        installation_id=await _installation_id(session, info),
        full_name=info["full_name"],
        owner_login=info.get("owner_login") or info["full_name"].split("/")[0],
        private=bool(info.get("private")),
        default_branch=info.get("default_branch") or "main",
        language=info.get("language"),
        archived=bool(info.get("archived")),
        monitoring_enabled=False,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        existing = await session.scalar(select(Repository).where(Repository.github_id == github_id))
        assert existing is not None
        return existing
    return row


def monitor_json(row: Repository) -> dict[str, Any]:
    """The contract's `repository` object of the monitor response (`bodies.MonitoredRepository`)."""
    return bodies.MonitoredRepository(
        id=row.id,
        github_repo_id=row.github_id,
        full_name=row.full_name,
        monitoring_active=row.monitoring_enabled,
        last_monitored_at=iso(row.last_event_at or row.updated_at),
    ).json_dict()


async def monitor(request: web.Request) -> web.Response:
    """POST /repositories/{github_repo_id}/monitor: monitoring on, and a pet if none yet."""
    access = await viewer(request)
    info = reachable_repository(request, access)
    kind, name = _preferences(await json_body(request))
    await require_push(request, access, info["full_name"])
    now = utc_now()
    async with runtime(request).sessionmaker.begin() as session:
        row = await ensure_repository(session, info)
        row.monitoring_enabled = True
        row.updated_at = now
        await set_frozen(session, row.id, row.archived, now)
        entity = await create_pet(session, row, now, name=name, species=kind)
        doc = pets.entity_json(entity, row, base_url(request))
        body = {
            "repository": monitor_json(row),
            "entity": doc,
            "message": f"Monitoring {row.full_name}: {doc['name']} is watching your commits.",
        }
    await queue_pictures(request, entity.id)
    return web.json_response(body, status=201)


async def unmonitor(request: web.Request) -> web.Response:
    """DELETE /repositories/{github_repo_id}/monitor: monitoring off; the pet is frozen."""
    access = await viewer(request)
    info = reachable_repository(request, access)
    await require_push(request, access, info["full_name"])
    now = utc_now()
    async with runtime(request).sessionmaker.begin() as session:
        row = await session.scalar(
            select(Repository).where(Repository.github_id == int(info["id"]))
        )
        archived = False
        if row is not None:
            row.monitoring_enabled = False
            row.updated_at = now
            archived = await current_pet(session, row.id) is not None
            await set_frozen(session, row.id, True, now)
    return web.json_response(
        {"message": f"Stopped monitoring {info['full_name']}.", "entity_archived": archived}
    )


def routes() -> list[web.RouteDef]:
    """The repository routes."""
    return [
        web.get("/repositories", list_repositories),
        web.post("/repositories/{github_repo_id}/monitor", monitor),
        web.delete("/repositories/{github_repo_id}/monitor", unmonitor),
    ]
