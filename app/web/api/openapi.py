"""The OpenAPI 3.1 description of `/api`, served at `/api/openapi.json`.

Written as data next to the code it describes; the tests validate real responses against it and
run schemathesis against a live app, so a drift between the two fails the build.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from aiohttp import web
from pydantic.json_schema import models_json_schema

from app.core import schemas
from app.entities.species import SPECIES
from app.web.api import openapi_caretakers
from app.web.api.errors import ERROR_CODES
from app.web.api.params import MAX_ID

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], props: dict[str, Schema], extra: bool = True) -> Schema:
    """An object schema; extra fields are allowed so clients tolerate additions."""
    return {
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": extra,
    }


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
ID: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def _components() -> dict[str, Schema]:
    """The shapes of `app.core.schemas`, as JSON schemas under their model names."""
    _, defs = models_json_schema(
        [(model, "validation") for model in schemas.COMPONENTS],
        ref_template="#/components/schemas/{model}",
    )
    found: dict[str, Schema] = defs["$defs"]
    found["Error"]["properties"]["error"]["examples"] = list(ERROR_CODES)
    return found


# The request-side and sign-in shapes, which no builder returns as a model.
HAND_WRITTEN: dict[str, Schema] = {
    "User": obj(
        ["id", "username", "avatar_url", "email"],
        {
            "id": INT,
            "github_id": INT,
            "username": STR,
            "avatar_url": nullable(STR),
            "email": nullable(STR),
        },
    ),
    "MonitoredRepository": obj(
        ["id", "github_repo_id", "full_name", "monitoring_active", "last_monitored_at"],
        {
            "id": INT,
            "github_repo_id": INT,
            "full_name": STR,
            "monitoring_active": BOOL,
            "last_monitored_at": nullable(TIME),
        },
    ),
    "HistoryRow": obj(
        [
            "timestamp",
            "health_score",
            "health_before",
            "applied",
            "delta",
            "change_reason",
            "decay_start",
        ],
        {
            "timestamp": TIME,
            "health_score": {"type": "integer", "minimum": 0, "maximum": 100},
            "health_before": INT,
            "applied": INT,
            "delta": INT,
            "change_reason": STR,
            "commit_sha": nullable(STR),
            "generation": nullable(INT),
            "decay_start": BOOL,
            "scored_delta": nullable(INT),
            "committed_at": nullable(TIME),
        },
    ),
    "HealthSummary": obj(
        ["current_health", "trend", "days_tracked"],
        {
            "current_health": INT,
            "trend": {"type": "string", "enum": ["improving", "declining", "stable"]},
            "days_tracked": INT,
        },
    ),
    "Session": obj(
        ["session_token", "user", "expires_at"],
        {"session_token": STR, "user": ref("User"), "expires_at": TIME},
    ),
}

SCHEMAS: dict[str, Schema] = {**_components(), **HAND_WRITTEN}


RATE_HEADERS: dict[str, Schema] = {
    "X-RateLimit-Limit": {"schema": INT, "description": "requests allowed in this window"},
    "X-RateLimit-Remaining": {"schema": INT, "description": "requests left in this window"},
    "X-RateLimit-Reset": {"schema": INT, "description": "when the window resets (epoch s)"},
}


def _json(schema: Schema, description: str, headers: bool = True) -> Schema:
    out: Schema = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = RATE_HEADERS
    return out


def error(description: str) -> Schema:
    return _json(ref("Error"), description)


ERRORS: dict[str, Schema] = {
    "400": error("invalid parameter (`details.parameter` names it) or a refused action"),
    "401": error("`invalid_token`: the session is missing, expired, forged or revoked"),
    "404": error("not found, or not visible to this user"),
    "429": {
        **error("`rate_limit_exceeded`"),
        "headers": {**RATE_HEADERS, "Retry-After": {"schema": INT}},
    },
    "default": error("any other error, in the same shape"),
}


def responses(ok: str, schema: Schema, description: str, *codes: str) -> Schema:
    """The success response plus the shared error responses."""
    out = {ok: _json(schema, description)}
    for code in ("400", *codes, "429", "default"):
        out[code] = ERRORS.get(code) or error(description_of(code))
    return out


def description_of(code: str) -> str:
    return {
        "403": "`insufficient_permissions`: push or admin rights are needed",
        "409": "conflict with the pet's state",
        "502": "`github_unavailable`: GitHub did not answer",
        "503": "`not_configured` or the queue is unavailable",
    }.get(code, "error")


def body(schema: Schema) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def query(name: str, schema: Schema, description: str = "") -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def path(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def array_of(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


PUBLIC: list[dict[str, list[str]]] = []

ENTITY_ID = path("id", ID)


def paths() -> dict[str, Any]:
    """Every route of the API."""
    return {
        "/auth/github/initiate": {
            "post": {
                "summary": "Start sign-in with GitHub",
                "security": PUBLIC,
                "requestBody": body(obj(["redirect_uri"], {"redirect_uri": STR})),
                "responses": responses(
                    "200",
                    obj(["oauth_url", "state"], {"oauth_url": STR, "state": STR}),
                    "where to send the person",
                    "503",
                ),
            }
        },
        "/auth/github/callback": {
            "post": {
                "summary": "Finish sign-in: exchange the code, start a session",
                "security": PUBLIC,
                "requestBody": body(obj(["code", "state"], {"code": STR, "state": STR})),
                "responses": responses("200", ref("Session"), "signed in", "502", "503"),
            }
        },
        "/auth/refresh": {
            "post": {
                "summary": "Renew the session (the old token is revoked)",
                "responses": responses(
                    "200",
                    obj(
                        ["session_token", "expires_at"], {"session_token": STR, "expires_at": TIME}
                    ),
                    "a new session token",
                    "401",
                ),
            }
        },
        "/auth/logout": {
            "post": {
                "summary": "Revoke this session",
                "responses": responses(
                    "200", obj(["message"], {"message": STR}), "signed out", "401"
                ),
            }
        },
        "/me": {
            "get": {
                "summary": "The signed-in user",
                "responses": responses(
                    "200",
                    obj(["user"], {"user": ref("User"), "session_expires_at": TIME}),
                    "the user",
                    "401",
                ),
            }
        },
        "/repositories": {
            "get": {
                "summary": "Your repositories where the App is installed",
                "parameters": [
                    query("type", {"type": "string", "enum": ["all", "public", "private"]}),
                    query(
                        "sort",
                        {"type": "string", "enum": ["updated", "created", "pushed", "full_name"]},
                    ),
                    query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}),
                    query("page", {"type": "integer", "minimum": 1, "maximum": 10000}),
                ],
                "responses": responses(
                    "200",
                    obj(
                        ["repositories", "total_count", "has_more"],
                        {
                            "repositories": array_of("Repository"),
                            "total_count": INT,
                            "has_more": BOOL,
                        },
                    ),
                    "one page of repositories",
                    "401",
                    "502",
                ),
            }
        },
        "/repositories/{github_repo_id}/monitor": {
            "parameters": [path("github_repo_id", ID)],
            "post": {
                "summary": "Turn monitoring on (hatches a pet if there is none)",
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": obj(
                                [],
                                {
                                    "entity_preferences": obj(
                                        [],
                                        {
                                            "type": {"type": "string", "enum": list(SPECIES)},
                                            "name": {
                                                "type": "string",
                                                "minLength": 1,
                                                "maxLength": 40,
                                            },
                                        },
                                    )
                                },
                            )
                        }
                    },
                },
                "responses": responses(
                    "201",
                    obj(
                        ["repository", "entity", "message"],
                        {
                            "repository": ref("MonitoredRepository"),
                            "entity": ref("Entity"),
                            "message": STR,
                        },
                    ),
                    "monitoring",
                    "401",
                    "403",
                    "404",
                    "502",
                ),
            },
            "delete": {
                "summary": "Turn monitoring off (the pet is frozen)",
                "responses": responses(
                    "200",
                    obj(["message", "entity_archived"], {"message": STR, "entity_archived": BOOL}),
                    "not monitoring",
                    "401",
                    "403",
                    "404",
                    "502",
                ),
            },
        },
        "/entities": {
            "get": {
                "summary": "All your pets",
                "responses": responses(
                    "200", obj(["entities"], {"entities": array_of("Entity")}), "pets", "401", "502"
                ),
            }
        },
        "/entities/current": {
            "get": {
                "summary": "The most recently active pet",
                "responses": responses(
                    "200",
                    obj(
                        ["entity", "health_trend"],
                        {
                            "entity": ref("Entity"),
                            "health_trend": {
                                "type": "array",
                                "items": obj(
                                    ["date", "score"],
                                    {"date": {"type": "string", "format": "date"}, "score": INT},
                                ),
                            },
                        },
                    ),
                    "the pet",
                    "401",
                    "404",
                    "502",
                ),
            }
        },
        "/entities/{id}": {
            "parameters": [ENTITY_ID],
            "get": {
                "summary": "One pet",
                "responses": responses(
                    "200",
                    obj(["entity"], {"entity": ref("Entity")}),
                    "the pet",
                    "401",
                    "404",
                    "502",
                ),
            },
            "patch": {
                "summary": "Rename a living pet",
                "requestBody": body(
                    obj(["name"], {"name": {"type": "string", "minLength": 1, "maxLength": 40}})
                ),
                "responses": responses(
                    "200",
                    obj(["entity"], {"entity": ref("Entity")}),
                    "renamed",
                    "401",
                    "403",
                    "404",
                    "502",
                ),
            },
        },
        "/entities/{id}/health-history": {
            "get": {
                "summary": "A pet's health over time",
                "parameters": [
                    ENTITY_ID,
                    query("days", {"type": "integer", "minimum": 1, "maximum": 90}),
                    query("granularity", {"type": "string", "enum": ["hourly", "daily"]}),
                ],
                "responses": responses(
                    "200",
                    obj(
                        ["entity_id", "health_history", "summary"],
                        {
                            "entity_id": INT,
                            "health_history": array_of("HistoryPoint"),
                            "summary": ref("HealthSummary"),
                            "changes": array_of("HistoryRow"),
                        },
                    ),
                    "history",
                    "401",
                    "404",
                    "502",
                ),
            }
        },
        "/entities/{id}/reset": {
            "post": {
                "summary": "Hatch the next generation of a dead pet after the cooldown",
                "parameters": [ENTITY_ID],
                "responses": responses(
                    "201",
                    obj(
                        ["entity", "cooldown_expires", "message"],
                        {
                            "entity": ref("Entity"),
                            "cooldown_expires": nullable(TIME),
                            "message": STR,
                        },
                    ),
                    "a new pet; 400 `cooldown_active` carries `cooldown_expires`",
                    "401",
                    "403",
                    "404",
                    "409",
                    "502",
                ),
            }
        },
        "/entities/{id}/hibernate": {
            "parameters": [ENTITY_ID],
            "post": {
                "summary": "Put a pet to sleep: no decay until its next commit or `until`",
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": obj(
                                [],
                                {
                                    "until": {
                                        **TIME,
                                        "description": "with an offset; at most 90 days ahead",
                                    }
                                },
                            )
                        }
                    },
                },
                "responses": responses(
                    "200",
                    obj(["entity", "message"], {"entity": ref("Entity"), "message": STR}),
                    "asleep; 400 `entity_dead` for a dead pet",
                    "401",
                    "403",
                    "404",
                    "502",
                ),
            },
            "delete": {
                "summary": "Wake a pet (the time it slept is not charged)",
                "responses": responses(
                    "200",
                    obj(["entity", "message"], {"entity": ref("Entity"), "message": STR}),
                    "awake",
                    "401",
                    "403",
                    "404",
                    "502",
                ),
            },
        },
        "/analysis/recent": {
            "get": {
                "summary": "Recent commit analyses with their reasons",
                "parameters": [
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 50}),
                    query("repository_id", ID, "Tamagitto's repository id"),
                ],
                "responses": responses(
                    "200",
                    obj(["analyses"], {"analyses": array_of("Analysis")}),
                    "analyses",
                    "401",
                    "404",
                    "502",
                ),
            }
        },
        "/analysis/trigger": {
            "post": {
                "summary": "Look for new commits now (at most 5 a minute)",
                "requestBody": body(obj(["repository_id"], {"repository_id": ID})),
                "responses": responses(
                    "202",
                    obj(
                        ["message", "estimated_completion"],
                        {"message": STR, "estimated_completion": TIME},
                    ),
                    "queued",
                    "401",
                    "403",
                    "404",
                    "502",
                    "503",
                ),
            }
        },
        "/public/pets/{owner}/{repo}": {
            "get": {
                "summary": "A public repository's pet, history and recent analyses",
                "security": PUBLIC,
                "parameters": [
                    path("owner", STR),
                    path("repo", STR),
                    query("days", {"type": "integer", "minimum": 1, "maximum": 90}),
                ],
                "responses": responses(
                    "200",
                    obj(
                        ["repository", "entity", "health_history", "summary", "recent_analyses"],
                        {
                            "repository": obj(["id", "full_name"], {"id": INT, "full_name": STR}),
                            "entity": ref("Entity"),
                            "health_history": array_of("HistoryPoint"),
                            "summary": ref("HealthSummary"),
                            "recent_analyses": array_of("Analysis"),
                            "changes": array_of("HistoryRow"),
                        },
                    ),
                    "the pet",
                    "404",
                ),
            }
        },
        "/ws": {
            "get": {
                "summary": "Live events (WebSocket)",
                "description": (
                    "Upgrade to a WebSocket. Authenticate with `?token=`, with "
                    "`Sec-WebSocket-Protocol: bearer, <token>` (the server selects `bearer`), or "
                    "subscribe to one public repository with `?repository=owner/name` without "
                    "signing in. The first message is a `Snapshot`; then `HealthUpdate`, "
                    "`StatusChange`, `AnalysisComplete` and `AchievementEvent` messages follow "
                    "for repositories the socket may see. The server pings every 20 s; client "
                    "messages are ignored."
                ),
                "security": PUBLIC,
                "parameters": [query("token", STR), query("repository", STR)],
                "responses": {
                    "101": {"description": "switching protocols"},
                    "400": ERRORS["400"],
                    "401": ERRORS["401"],
                    "404": ERRORS["404"],
                    "429": ERRORS["429"],
                    "default": ERRORS["default"],
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": PUBLIC,
                "responses": {
                    "200": _json({"type": "object"}, "OpenAPI 3.1"),
                    "429": ERRORS["429"],
                    "default": ERRORS["default"],
                },
            }
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    """The whole OpenAPI document (built once)."""
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
        "paths": {
            **paths(),
            **openapi_caretakers.paths(responses, query, path, body, ENTITY_ID, ID),
        },
        "components": {
            "schemas": SCHEMAS,
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
