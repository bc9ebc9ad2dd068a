"""The OpenAPI 3.1 description of `/api`, served at `/api/openapi.json`.

The document is generated from two sources. `ROUTES` is a table with one entry per operation:
its summary, the models of its query, body and answer, its error statuses, and whether it needs
a session. The models' JSON schemas become the components. The shapes come from
`app.core.schemas` and `app.web.api.bodies`, and the parameters from each handler's own
parameter model, so whatever a handler validates is what the document states. The tests
validate real responses against the document, check that its routes are the app's, and run
schemathesis against a live app, so any drift between the two fails the build.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from app.core import schemas
from app.web.api import analysis, auth, bodies, entities, public, repositories, ws
from app.web.api.errors import ERROR_CODES
from app.web.api.params import Id
from app.web.api.ratelimit import DEFAULT_LIMITS

Schema = dict[str, Any]
Refs = dict[type[BaseModel], Schema]

REF = "#/components/schemas/{model}"
JSON = "application/json"
READ = "400 401 404 502"
CHANGE = "400 401 403 404 502"  # the same, plus 403 for lacking push or admin rights


@dataclass(frozen=True, slots=True)
class Route:
    """One operation as the table states it; what all operations share is added in `operation`."""

    method: str
    path: str
    summary: str
    reply: type[BaseModel] | None  # the success body; None for the WebSocket upgrade
    said: str  # what the success response means
    errors: str  # error statuses besides 429 and `default`, which every operation has
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    public: bool = False  # no session needed
    description: str | None = None


WS_DESCRIPTION = (
    "Upgrade to a WebSocket. Authenticate with `?token=`, with "
    "`Sec-WebSocket-Protocol: bearer, <token>` (the server selects `bearer`), or "
    "subscribe to one public repository with `?repository=owner/name` without "
    "signing in. The first message is a `Snapshot`; then `HealthUpdate`, "
    "`StatusChange` and `AnalysisComplete` messages follow for repositories the "
    f"socket may see. The server pings every {ws.HEARTBEAT:g} s; client messages are ignored."
)

# fmt: off
ROUTES: tuple[Route, ...] = (
    Route("post", "/auth/github/initiate", "Start sign-in with GitHub", bodies.OAuthStart,
          "where to send the person", "400 503", body=auth.InitiateBody, public=True),
    Route("post", "/auth/github/callback", "Finish sign-in: exchange the code, start a session",
          bodies.Session, "signed in", "400 502 503", body=auth.CallbackBody, public=True),
    Route("post", "/auth/refresh", "Renew the session (the old token is revoked)",
          bodies.Refreshed, "a new session token", "400 401"),
    Route("post", "/auth/logout", "Revoke this session", bodies.Message, "signed out", "400 401"),
    Route("get", "/me", "The signed-in user", bodies.Me, "the user", "400 401"),
    Route("get", "/repositories", "Your repositories where the App is installed",
          bodies.RepositoryPage, "one page of repositories", "400 401 502",
          query=repositories.ListQuery),
    Route("post", "/repositories/{github_repo_id}/monitor",
          "Turn monitoring on (hatches a pet if there is none)", bodies.Monitoring, "monitoring",
          CHANGE, 201, body=repositories.MonitorBody),
    Route("delete", "/repositories/{github_repo_id}/monitor",
          "Turn monitoring off (the pet is frozen)", bodies.Unmonitored, "not monitoring", CHANGE),
    Route("get", "/entities", "All your pets", bodies.EntityList, "pets", "400 401 502"),
    Route("get", "/entities/current", "The most recently active pet", bodies.CurrentEntity,
          "the pet", READ),
    Route("get", "/entities/{id}", "One pet", bodies.EntityReply, "the pet", READ),
    Route("patch", "/entities/{id}", "Rename a living pet", bodies.EntityReply, "renamed", CHANGE,
          body=entities.RenameBody),
    Route("get", "/entities/{id}/health-history", "A pet's health over time", bodies.History,
          "history", READ, query=entities.HistoryQuery),
    Route("post", "/entities/{id}/reset",
          "Hatch the next generation of a dead pet after the cooldown", bodies.Revived,
          "a new pet; 400 `cooldown_active` carries `cooldown_expires`", f"{CHANGE} 409", 201),
    Route("post", "/entities/{id}/hibernate",
          "Put a pet to sleep: no decay until its next commit or `until`", bodies.EntityMessage,
          "asleep; 400 `entity_dead` for a dead pet", CHANGE, body=entities.HibernateBody),
    Route("delete", "/entities/{id}/hibernate", "Wake a pet (the time it slept is not charged)",
          bodies.EntityMessage, "awake", CHANGE),
    Route("get", "/analysis/recent", "Recent commit analyses with their reasons",
          bodies.AnalysisList, "analyses", READ, query=analysis.RecentQuery),
    Route("post", "/analysis/trigger",
          f"Look for new commits now (at most {DEFAULT_LIMITS['analysis_trigger']} a minute)",
          bodies.Queued, "queued", f"{CHANGE} 503", 202, body=analysis.TriggerBody),
    Route("get", "/public/pets/{owner}/{repo}",
          "A public repository's pet, history and recent analyses", bodies.PublicPet, "the pet",
          "400 404", query=public.PetQuery, public=True),
    Route("get", "/ws", "Live events (WebSocket)", None, "switching protocols", "400 401 404",
          101, query=ws.SocketQuery, public=True, description=WS_DESCRIPTION),
    Route("get", "/openapi.json", "This document", bodies.Document, "OpenAPI 3.1", "",
          public=True),
)
# fmt: on

# The path parameters, by name, as the handlers read them (`params.path_id` for ids).
PATH_TYPES: dict[str, Any] = {"id": Id, "github_repo_id": Id, "owner": str, "repo": str}

ERRORS: dict[str, str] = {
    "400": "invalid parameter (`details.parameter` names it) or a refused action",
    "401": "`invalid_token`: the session is missing, expired, forged or revoked",
    "403": "`insufficient_permissions`: push or admin rights are needed",
    "404": "not found, or not visible to this user",
    "409": "conflict with the pet's state",
    "429": "`rate_limit_exceeded`",
    "502": "`github_unavailable`: GitHub did not answer",
    "503": "`not_configured` or the queue is unavailable",
    "default": "any other error, in the same shape",
}

INT: Schema = {"type": "integer"}
RATE_HEADERS: dict[str, Schema] = {
    "X-RateLimit-Limit": {"schema": INT, "description": "requests allowed in this window"},
    "X-RateLimit-Remaining": {"schema": INT, "description": "requests left in this window"},
    "X-RateLimit-Reset": {"schema": INT, "description": "when the window resets (epoch s)"},
}

_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def standard(node: Any) -> Any:
    """`node` with JSON Schema's names for numeric bounds.

    pydantic writes a bound it cannot place under a `BeforeValidator` (`params.Whole`) with its
    Python name, `ge` or `le`, which JSON Schema tools ignore.
    """
    if isinstance(node, list):
        return [standard(item) for item in node]
    if not isinstance(node, dict):
        return node
    numeric = node.get("type") in ("integer", "number")
    return {(_BOUNDS.get(k, k) if numeric else k): standard(v) for k, v in node.items()}


def models() -> list[type[BaseModel]]:
    """Every model the document names: the table's bodies and answers, and the socket's events."""
    named = [m for route in ROUTES for m in (route.body, route.reply) if m is not None]
    return list(dict.fromkeys([*named, *schemas.COMPONENTS]))


def components() -> tuple[Refs, dict[str, Schema]]:
    """The models' JSON schemas: a `$ref` for each model, and the components they point to."""
    found = models()
    refs, top = models_json_schema([(m, "validation") for m in found], ref_template=REF)
    defs: dict[str, Schema] = standard(top["$defs"])
    error = refs[(schemas.Error, "validation")]["$ref"].rsplit("/", 1)[-1]
    defs[error]["properties"]["error"]["examples"] = list(ERROR_CODES)
    return {m: refs[(m, "validation")] for m in found}, defs


def present(schema: Schema) -> Schema:
    """An optional parameter is absent or a value, never `null`: drop the null branch."""
    rest = {k: v for k, v in schema.items() if k != "anyOf" and (k, v) != ("default", None)}
    options = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if len(options) == 1:
        return {**options[0], **rest}
    return {**rest, "anyOf": options} if options else rest


def parameter(name: str, where: str, schema: Schema, required: bool) -> Schema:
    """One parameter; its description moves from the schema to the parameter."""
    schema = standard(present(schema))
    schema.pop("title", None)
    description = schema.pop("description", None)
    out: Schema = {"name": name, "in": where, "required": required, "schema": schema}
    if description:
        out["description"] = description
    return out


def path_parameters(path: str) -> list[Schema]:
    """The `{name}` segments of a path, typed by `PATH_TYPES`."""
    names = re.findall(r"\{(\w+)\}", path)
    return [parameter(n, "path", TypeAdapter(PATH_TYPES[n]).json_schema(), True) for n in names]


def query_parameters(model: type[BaseModel] | None, defs: dict[str, Schema]) -> list[Schema]:
    """A query model's fields as parameters (any nested definitions join the components)."""
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    defs.update(standard(schema.pop("$defs", {})))
    required = set(schema.get("required", ()))
    return [
        parameter(name, "query", prop, name in required)
        for name, prop in schema["properties"].items()
    ]


def request_body(model: type[BaseModel], refs: Refs) -> Schema:
    """The JSON body; optional when every field is (a missing body then reads as `{}`)."""
    required = any(field.is_required() for field in model.model_fields.values())
    return {"required": required, "content": {JSON: {"schema": refs[model]}}}


def error(code: str, refs: Refs) -> Schema:
    """An error response: the `Error` shape, the rate headers, and Retry-After on a 429."""
    headers = {**RATE_HEADERS, "Retry-After": {"schema": INT}} if code == "429" else RATE_HEADERS
    content = {JSON: {"schema": refs[schemas.Error]}}
    return {"description": ERRORS[code], "content": content, "headers": headers}


def responses(route: Route, refs: Refs) -> Schema:
    """The success response, the route's error statuses, 429 and the catch-all."""
    ok: Schema = {"description": route.said}
    if route.reply is not None:
        ok["content"] = {JSON: {"schema": refs[route.reply]}}
        ok["headers"] = RATE_HEADERS
    out: Schema = {str(route.status): ok}
    for code in (*route.errors.split(), "429", "default"):
        out[code] = error(code, refs)
    return out


def operation(route: Route, refs: Refs, defs: dict[str, Schema]) -> Schema:
    """One operation object of the document, from its line in the table."""
    out: Schema = {"summary": route.summary}
    if route.description:
        out["description"] = route.description
    if route.public:
        out["security"] = []
    params = path_parameters(route.path) + query_parameters(route.query, defs)
    if params:
        out["parameters"] = params
    if route.body is not None:
        out["requestBody"] = request_body(route.body, refs)
    out["responses"] = responses(route, refs)
    return out


def paths(refs: Refs, defs: dict[str, Schema]) -> dict[str, Any]:
    """Every route of the table, grouped by path in the table's order."""
    out: dict[str, Any] = {}
    for route in ROUTES:
        out.setdefault(route.path, {})[route.method] = operation(route, refs, defs)
    return out


@functools.cache
def document() -> dict[str, Any]:
    """The whole OpenAPI document (built once)."""
    refs, defs = components()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tamagitto API",
            "version": "1.0.0",
            "description": (
                "Pets for repositories. Errors are `{error, message, details?, timestamp}`. "
                "Every response carries X-RateLimit-* headers; over the limit the answer is 429 "
                "with Retry-After."
            ),
        },
        "servers": [{"url": "/api"}],
        "security": [{"bearerAuth": []}],
        "paths": paths(refs, defs),
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


async def serve(request: web.Request) -> web.Response:
    """GET /openapi.json."""
    return web.json_response(copy.deepcopy(document()))


def routes() -> list[web.RouteDef]:
    return [web.get("/openapi.json", serve)]
