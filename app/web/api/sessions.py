"""Session tokens: HS256 JWTs that live 24 hours, renewable, revocable through a table."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.keyring import session_secret
from app.core.models import RevokedSession
from app.infra.bus import session_ended
from app.web.api.context import runtime, settings, utc_now
from app.web.api.errors import NOT_CONFIGURED, ApiError, unauthorized

log = logging.getLogger(__name__)

SESSION_TTL = timedelta(hours=24)
ALGORITHM = "HS256"
ISSUER = "tamagitto"
SESSION_TYPE = "session"
LEEWAY = 5
BEARER_PROTOCOL = "bearer"


class InvalidSession(Exception):
    """The token is missing, malformed, forged, expired, of the wrong kind or revoked."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid session token speaks for."""

    user_id: int
    jti: str
    expires_at: datetime


PRINCIPAL = web.RequestKey("tamagitto.api.principal", Principal)


def issue(secret: bytes, user_id: int, now: datetime) -> tuple[str, datetime]:
    """A fresh session token and its expiry; `jti` is what logout revokes."""
    expires = now + SESSION_TTL
    claims = {
        "iss": ISSUER,
        "typ": SESSION_TYPE,
        "sub": str(user_id),
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires.replace(microsecond=0)


def decode(secret: bytes, token: str) -> Principal:
    """Verify signature, algorithm, expiry and kind; revocation is checked separately."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "sub", "jti", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidSession(type(exc).__name__) from None
    if claims.get("typ") != SESSION_TYPE or not str(claims["sub"]).isdigit():
        raise InvalidSession("not a session token")
    return Principal(
        int(claims["sub"]), str(claims["jti"]), datetime.fromtimestamp(claims["exp"], UTC)
    )


async def is_revoked(session: AsyncSession, jti: str) -> bool:
    """One primary-key lookup per authenticated request."""
    return await session.get(RevokedSession, jti) is not None


async def revoke(session: AsyncSession, principal: Principal, now: datetime) -> None:
    """Record the jti until the token would have expired; prune rows that no longer matter."""
    await session.execute(delete(RevokedSession).where(RevokedSession.expires_at < now))
    exists = await session.scalar(
        select(RevokedSession.jti).where(RevokedSession.jti == principal.jti)
    )
    if exists is None:
        try:
            async with session.begin_nested():
                session.add(RevokedSession(jti=principal.jti, expires_at=principal.expires_at))
        except IntegrityError:
            pass  # a concurrent logout of the same session won


async def announce_ended(request: web.Request, principal: Principal) -> None:
    """Close the sockets of a session just revoked, in every web process, within a second.

    The revocation is already committed; a bus failure only leaves sockets to the periodic
    access refresh, so it is logged rather than raised.
    """
    try:
        await runtime(request).bus.publish(session_ended(principal.user_id, principal.jti))
    except Exception as exc:
        log.warning("could not announce a revoked session (%s)", type(exc).__name__)


def require_secret(request: web.Request) -> bytes:
    """The signing key, or 503 when sign-in is not configured on this server."""
    secret = session_secret(settings(request))
    if secret is None:
        raise ApiError(
            503,
            NOT_CONFIGURED,
            "Sign-in is not configured: set SESSION_SECRET (or configure the GitHub App).",
        )
    return secret


def bearer_token(request: web.Request) -> str | None:
    """The token from `Authorization: Bearer …`."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def verify(request: web.Request, token: str | None) -> Principal:
    """A Principal for a valid, unrevoked token; 401 invalid_token otherwise."""
    if not token:
        raise unauthorized("A session token is required.")
    secret = require_secret(request)
    try:
        principal = decode(secret, token)
    except InvalidSession:
        raise unauthorized("The session token is invalid or expired.") from None
    async with runtime(request).sessionmaker() as session:
        if await is_revoked(session, principal.jti):
            raise unauthorized("This session was signed out.")
    return principal


async def authenticate(request: web.Request) -> Principal:
    """The request's principal (cached on the request), or 401."""
    cached = request.get(PRINCIPAL)
    if isinstance(cached, Principal):
        return cached
    principal = await verify(request, bearer_token(request))
    request[PRINCIPAL] = principal
    return principal


def socket_token(request: web.Request) -> tuple[str | None, bool]:
    """A WebSocket's token: `Sec-WebSocket-Protocol: bearer, <token>`, `?token=` or the header.

    Browsers cannot set headers on a WebSocket, hence the first two. Returns (token,
    came_in_protocol): the server must then select `bearer` in its answer.
    """
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if BEARER_PROTOCOL in offered:
        rest = [p for p in offered if p and p != BEARER_PROTOCOL]
        if rest:
            return rest[0], True
    return request.query.get("token") or bearer_token(request), False


def unverified_subject(request: web.Request) -> str | None:
    """The user id of a well-signed token, for rate-limit keys only (no revocation check)."""
    token = socket_token(request)[0] if request.path.endswith("/ws") else bearer_token(request)
    secret = session_secret(settings(request))
    if token is None or secret is None:
        return None
    try:
        return str(decode(secret, token).user_id)
    except InvalidSession:
        return None


__all__ = [
    "SESSION_TTL",
    "InvalidSession",
    "Principal",
    "authenticate",
    "decode",
    "issue",
    "revoke",
    "utc_now",
    "verify",
]
