"""The caretakers' and notification secrets' paths of the OpenAPI document.

`app.web.api.openapi.document` merges these into its paths, handing in its own helpers (so
the shared error responses and rate-limit headers are the document's, and this module needs
nothing from it at import time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Schema = dict[str, Any]
Helper = Callable[..., Schema]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
DAYS: Schema = {"type": "integer", "minimum": 1, "maximum": 365}
NAME: Schema = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], props: dict[str, Schema]) -> Schema:
    return {"type": "object", "required": required, "properties": props}


def _caretakers(responses: Helper, query: Helper, path: Helper, entity_id: Schema) -> Schema:
    days = query("days", DAYS, "the period besides all time (default 30)")
    return {
        "/entities/{id}/caretakers": {
            "get": {
                "summary": "Who keeps the pet alive: caretakers, streaks and achievements",
                "description": (
                    "A private repository's caretakers only for people who can see it. "
                    "`caretakers: off` in the repository's config answers `enabled: false`."
                ),
                "parameters": [entity_id, days],
                "responses": responses(
                    "200", ref("Caretakers"), "the caretakers", "401", "404", "502"
                ),
            }
        },
        "/public/pets/{owner}/{repo}/caretakers": {
            "get": {
                "summary": "A public repository's caretakers, streaks and achievements",
                "security": [],
                "parameters": [path("owner", STR), path("repo", STR), days],
                "responses": responses("200", ref("Caretakers"), "the caretakers", "404"),
            }
        },
    }


def _secrets(responses: Helper, path: Helper, body: Helper, repo_id: Schema) -> Schema:
    one = _obj(["secret", "message"], {"secret": ref("NotifySecretInfo"), "message": STR})
    errors = ("401", "403", "404", "502")
    return {
        "/repositories/{github_repo_id}/notify-secrets": {
            "parameters": [path("github_repo_id", repo_id)],
            "get": {
                "summary": "Notification webhook secrets of a repository (names, never URLs)",
                "responses": responses(
                    "200",
                    _obj(
                        ["repository_id", "secrets"],
                        {"repository_id": INT, "secrets": {"type": "array",
                                                           "items": ref("NotifySecretInfo")}},
                    ),
                    "the secrets",
                    *errors,
                ),
            },
        },
        "/repositories/{github_repo_id}/notify-secrets/{name}": {
            "parameters": [path("github_repo_id", repo_id), path("name", NAME)],
            "put": {
                "summary": "Store a Slack or Discord incoming-webhook URL (admins; encrypted)",
                "requestBody": body(
                    _obj(
                        ["kind", "url"],
                        {"kind": {"type": "string", "enum": ["slack", "discord"]},
                         "url": {"type": "string", "minLength": 1, "maxLength": 2048}},
                    )
                ),
                "responses": {
                    **responses("200", one, "replaced", *errors, "503"),
                    "201": responses("201", one, "stored")["201"],
                },
            },
            "delete": {
                "summary": "Forget a notification webhook secret (admins)",
                "responses": responses(
                    "200", _obj(["message"], {"message": STR}), "forgotten", *errors
                ),
            },
        },
    }  # fmt: skip


def paths(
    responses: Helper, query: Helper, path: Helper, body: Helper, entity_id: Schema, id_: Schema
) -> dict[str, Any]:
    """The paths, built with the document's helpers."""
    return {
        **_caretakers(responses, query, path, entity_id),
        **_secrets(responses, path, body, id_),
    }
