"""Notification webhook secrets: stored by a repository's admins, named by its config.

`PUT /repositories/{github_repo_id}/notify-secrets/{name}` with `{kind, url}` seals a Slack or
Discord incoming-webhook URL (`app.jobs.notify_secrets`); `GET` lists the names and `DELETE`
forgets one. Every call needs admin rights on the repository, checked with GitHub right then
(the access cache may be five minutes old), and no answer ever contains a URL.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from app.core.models import Repository
from app.jobs import notify_secrets
from app.web.api.access import Access, fresh_permissions
from app.web.api.context import json_body, runtime, settings
from app.web.api.entities import viewer
from app.web.api.errors import (
    INSUFFICIENT_PERMISSIONS,
    NOT_FOUND,
    ApiError,
    invalid,
)
from app.web.api.params import Params, parse, path_id
from app.web.api.repositories import ensure_repository, reachable_repository
from app.web.api.users import require_keyring

# A secret's name in a path, as `notify_secrets.check_name` takes it (case is folded).
SecretName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class SecretBody(Params):
    """`PUT …/notify-secrets/{name}` body."""

    kind: Literal["slack", "discord"]
    url: str = Field(min_length=1, max_length=notify_secrets.MAX_URL)


async def require_admin(request: web.Request, access: Access, full_name: str) -> None:
    """Admin rights, checked afresh: secrets are the repository admins' to manage."""
    perms = await fresh_permissions(request, access, full_name)
    if not perms.get("admin"):
        raise ApiError(
            403,
            INSUFFICIENT_PERMISSIONS,
            "Notification secrets need admin rights on the repository.",
            details={"repository": full_name},
        )


async def _admin_repository(request: web.Request) -> tuple[Access, dict[str, Any]]:
    """The repository in the path, when the signed-in person reaches it through the App and
    administers it (404 when they do not reach it, as for monitoring)."""
    access = await viewer(request)
    info = reachable_repository(request, access)
    await require_admin(request, access, str(info["full_name"]))
    return access, info


def _name(request: web.Request) -> str:
    try:
        return notify_secrets.check_name(request.match_info["name"])
    except notify_secrets.BadSecret as exc:
        raise invalid("name", str(exc)) from None


async def list_secrets(request: web.Request) -> web.Response:
    """GET /repositories/{github_repo_id}/notify-secrets: the names, kinds and hints."""
    _, info = await _admin_repository(request)
    async with runtime(request).sessionmaker.begin() as session:
        row = await ensure_repository(session, info)
        found = await notify_secrets.listing(session, row.id)
        body = {
            "repository_id": row.id,
            "secrets": [notify_secrets.info_model(s).json_dict() for s in found],
        }
    return web.json_response(body)


async def put_secret(request: web.Request) -> web.Response:
    """PUT /repositories/{github_repo_id}/notify-secrets/{name}: seal and store a webhook URL."""
    path_id(request.match_info, "github_repo_id")
    name = _name(request)
    body = parse(SecretBody, await json_body(request))
    try:
        url = notify_secrets.check_url(body.kind, body.url, settings(request).notify_extra_hosts)
    except notify_secrets.BadSecret as exc:
        raise invalid("url", str(exc)) from None
    ring = require_keyring(request)
    access, info = await _admin_repository(request)
    async with runtime(request).sessionmaker.begin() as session:
        row: Repository = await ensure_repository(session, info)
        secret, created = await notify_secrets.store(
            session, ring, row.id, name, body.kind, url, access.user_id
        )
        doc = notify_secrets.info_model(secret).json_dict()
    message = f"Stored `{name}`: name it under `notify:` in .github/tamagitto.yml."
    return web.json_response({"secret": doc, "created": created, "message": message})


async def delete_secret(request: web.Request) -> web.Response:
    """DELETE /repositories/{github_repo_id}/notify-secrets/{name}."""
    name = _name(request)
    _, info = await _admin_repository(request)
    async with runtime(request).sessionmaker.begin() as session:
        row = await ensure_repository(session, info)
        if not await notify_secrets.remove(session, row.id, name):
            raise ApiError(404, NOT_FOUND, f"No secret named `{name}`.", details={"name": name})
    return web.json_response({"message": f"Forgot `{name}`."})


def routes() -> list[web.RouteDef]:
    """The notification secret routes."""
    base = "/repositories/{github_repo_id}/notify-secrets"
    return [
        web.get(base, list_secrets),
        web.put(base + "/{name}", put_secret),
        web.delete(base + "/{name}", delete_secret),
    ]
