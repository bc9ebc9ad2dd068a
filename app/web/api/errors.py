"""The API's one error shape, `{error, message, details?, timestamp}`, and the codes it uses."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from app.core import schemas

log = logging.getLogger(__name__)

# The seed's codes, plus a few the seed leaves unnamed (not found, forbidden, configuration).
INVALID_TOKEN = "invalid_token"
INVALID_REQUEST = "invalid_request"
INVALID_CODE = "invalid_code"
INVALID_STATE = "invalid_state"
REPOSITORY_NOT_FOUND = "repository_not_found"
ENTITY_NOT_FOUND = "entity_not_found"
NO_ACTIVE_ENTITY = "no_active_entity"
RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"
ENTITY_DEAD = "entity_dead"
ENTITY_ALIVE = "entity_alive"
COOLDOWN_ACTIVE = "cooldown_active"
ANALYSIS_FAILED = "analysis_failed"
INSUFFICIENT_PERMISSIONS = "insufficient_permissions"
NOT_CONFIGURED = "not_configured"
GITHUB_UNAVAILABLE = "github_unavailable"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
INTERNAL_ERROR = "internal_error"
DATABASE_UNAVAILABLE = "database_unavailable"

ERROR_CODES = (
    INVALID_TOKEN,
    INVALID_REQUEST,
    INVALID_CODE,
    INVALID_STATE,
    REPOSITORY_NOT_FOUND,
    ENTITY_NOT_FOUND,
    NO_ACTIVE_ENTITY,
    RATE_LIMIT_EXCEEDED,
    ENTITY_DEAD,
    ENTITY_ALIVE,
    COOLDOWN_ACTIVE,
    ANALYSIS_FAILED,
    INSUFFICIENT_PERMISSIONS,
    NOT_CONFIGURED,
    GITHUB_UNAVAILABLE,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    INTERNAL_ERROR,
    DATABASE_UNAVAILABLE,
    "request_too_large",
)


class ApiError(Exception):
    """Raised anywhere under a handler; the middleware turns it into the error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details) if details else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def now_iso() -> str:
    """The error's timestamp (UTC, ISO 8601)."""
    return datetime.now(UTC).isoformat()


def error_body(
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body every error has (`schemas.Error`); `extra` adds top-level fields such as
    `cooldown_expires`.
    """
    body: dict[str, Any] = {"error": code, "message": message}
    if details:
        body["details"] = dict(details)
    body.update(extra or {})
    body["timestamp"] = now_iso()
    return schemas.Error(**body).json_dict()


def error_response(exc: ApiError) -> web.Response:
    """JSON response for an ApiError."""
    return web.json_response(
        error_body(exc.code, exc.message, exc.details, exc.extra),
        status=exc.status,
        headers=exc.headers,
    )


def invalid(parameter: str, message: str, **details: Any) -> ApiError:
    """400 that names the offending parameter, as clients need to show which field is wrong."""
    return ApiError(400, INVALID_REQUEST, message, details={"parameter": parameter, **details})


def unauthorized(message: str = "Sign in again: the session is missing or invalid.") -> ApiError:
    """401 invalid_token; never says which check failed beyond a short reason."""
    return ApiError(401, INVALID_TOKEN, message, headers={"WWW-Authenticate": "Bearer"})


def database_unavailable() -> ApiError:
    """503 while the database cannot be reached: the client should retry, not give up."""
    from app.core.db import RETRY_AFTER

    return ApiError(
        503,
        DATABASE_UNAVAILABLE,
        "The database is unavailable right now; try again shortly.",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


_HTTP_CODES = {
    404: (NOT_FOUND, "No such endpoint."),
    405: (METHOD_NOT_ALLOWED, "This method is not allowed here."),
    413: ("request_too_large", "The request body is too large."),
}


def from_http_exception(exc: web.HTTPException) -> ApiError:
    """aiohttp's own 404/405/413 as API errors, so every /api answer has the same shape."""
    code, message = _HTTP_CODES.get(exc.status, (INVALID_REQUEST, exc.reason))
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    return ApiError(exc.status, code, message, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure under /api becomes the error body; unexpected ones are logged as 500."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ApiError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(from_http_exception(exc))
    except Exception as exc:
        from app.core.db import is_unavailable

        if is_unavailable(exc):
            log.warning("database unavailable in %s %s (%s)", request.method, request.path, exc)
            return error_response(database_unavailable())
        # The message never includes request data: it could hold a token.
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(ApiError(500, INTERNAL_ERROR, "Something went wrong on our side."))
