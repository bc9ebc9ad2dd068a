"""Check requests against GitHub's official OpenAPI description (npm `@octokit/openapi`)."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "node_modules" / "@octokit"
SPEC_PATH = FIXTURES / "openapi" / "generated" / "api.github.com.deref.json"
WEB_PATHS = ("/login/oauth/access_token",)  # web host endpoints, not in the REST description


class OpenAPIMismatch(AssertionError):
    """A request GitHub would not accept as described by its OpenAPI document."""


@dataclass(frozen=True)
class Operation:
    """One (method, path template) of the REST description."""

    method: str
    template: str
    regex: re.Pattern[str]
    spec: dict[str, Any]

    @property
    def operation_id(self) -> str:
        return str(self.spec.get("operationId", f"{self.method} {self.template}"))


@functools.cache
def _spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        raise RuntimeError(
            f"{SPEC_PATH} is missing: run `npm ci` in tests/fixtures (scripts/test does)"
        )
    with SPEC_PATH.open("rb") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


@functools.cache
def _operations() -> list[Operation]:
    ops = []
    for template, item in _spec()["paths"].items():
        escaped = re.escape(template).replace(r"\{path\}", ".+")  # file paths keep their slashes
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", escaped) + "$"
        for method, spec in item.items():
            if method in ("get", "post", "put", "patch", "delete", "head"):
                ops.append(Operation(method.upper(), template, re.compile(pattern), spec))
    # literal segments beat parameters: /repos/{o}/{r}/commits/{ref}/status vs …/{ref}
    ops.sort(key=lambda op: op.template.count("{"))
    return ops


def find_operation(method: str, path: str) -> Operation:
    """The operation GitHub's description has for this request, or OpenAPIMismatch."""
    path = path.split("?", 1)[0]
    if path.startswith("/api/v3/"):
        path = path[len("/api/v3") :]
    for op in _operations():
        if op.method == method.upper() and op.regex.match(path):
            return op
    raise OpenAPIMismatch(f"{method} {path} is not an operation of GitHub's REST API")


def validate_request(
    method: str, path: str, query: dict[str, str] | None = None, body: Any = None
) -> str:
    """Check path, query parameters and JSON body; return the operationId."""
    if path.split("?", 1)[0] in WEB_PATHS:
        return "oauth/access-token"
    op = find_operation(method, path)
    _check_query(op, query or {})
    _check_body(op, body)
    return op.operation_id


def _check_query(op: Operation, query: dict[str, str]) -> None:
    params = {p["name"]: p for p in op.spec.get("parameters", []) if p.get("in") == "query"}
    for name in query:
        if name not in params:
            raise OpenAPIMismatch(f"{op.operation_id}: unknown query parameter {name!r}")
    for name, param in params.items():
        if param.get("required") and name not in query:
            raise OpenAPIMismatch(f"{op.operation_id}: missing query parameter {name!r}")


def _check_body(op: Operation, body: Any) -> None:
    content = op.spec.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        if body not in (None, b"", ""):
            raise OpenAPIMismatch(f"{op.operation_id} takes no JSON body")
        return
    if body in (None, b"", ""):
        if op.spec.get("requestBody", {}).get("required"):
            raise OpenAPIMismatch(f"{op.operation_id}: a JSON body is required")
        return
    try:
        jsonschema.validate(body, schema)
    except jsonschema.ValidationError as exc:
        raise OpenAPIMismatch(f"{op.operation_id}: body rejected: {exc.message}") from None
