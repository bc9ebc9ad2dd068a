"""The typed context every job takes: every key of arq's `ctx` is spelled here, and only here.

arq hands each job a plain dict (and the inline queue copies arq's contract), so `ctx` stays a
dict on the wire: `Runtime.job_ctx` fills it with `resources`, and the queues add `job_id` and
`job_try` (`run_ctx`). At that boundary `app.infra.registry.as_arq` wraps the dict in a
`JobContext` once per run and calls the typed job, which reads `ctx.sessionmaker` and the like,
checked by mypy. Tests may build one from a partial dict: a required resource that is missing
raises `KeyError` when read, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp
    from arq.connections import ArqRedis
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from app.core.config import Settings
    from app.infra.bus import EventBus
    from app.infra.github import GitHubApp
    from app.infra.queue.base import JobQueue

SETTINGS = "settings"
ENGINE = "engine"
SESSIONMAKER = "sessionmaker"
QUEUE = "queue"
BUS = "bus"
HTTP = "http"
REDIS = "redis"
GITHUB = "github"
# Optional: keyword overrides for picture generation (tests make it fast).
IMAGE_POLICY = "image_policy"
# Set by the queue for each run (arq's own names).
JOB_ID = "job_id"
JOB_TRY = "job_try"


def run_ctx(base: dict[str, Any], *, job_id: str, job_try: int) -> dict[str, Any]:
    """One run's `ctx`, as arq builds it: the shared resources plus the job's id and try."""
    return {**base, JOB_ID: job_id, JOB_TRY: job_try}


def resources(
    *,
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    queue: JobQueue,
    bus: EventBus,
    http: aiohttp.ClientSession,
    redis: ArqRedis | None,
    github: GitHubApp | None,
) -> dict[str, Any]:
    """The arq-style `ctx` dict that job functions receive in both modes."""
    return {
        SETTINGS: settings,
        ENGINE: engine,
        SESSIONMAKER: sessionmaker,
        QUEUE: queue,
        BUS: bus,
        HTTP: http,
        REDIS: redis,
        GITHUB: github,
    }


class JobContext:
    """Typed, read-only access to a job's `ctx` dict (the dict arq passed in, kept private so
    that every key is read through a property here)."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: dict[str, Any]) -> None:
        self._ctx = ctx

    @property
    def settings(self) -> Settings:
        """The process's settings (required)."""
        value: Settings = self._ctx[SETTINGS]
        return value

    @property
    def settings_or_none(self) -> Settings | None:
        """The settings, when the caller provided them (some tests do not)."""
        value: Settings | None = self._ctx.get(SETTINGS)
        return value

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """The database sessions."""
        value: async_sessionmaker[AsyncSession] = self._ctx[SESSIONMAKER]
        return value

    @property
    def queue(self) -> JobQueue:
        """Where follow-up jobs go."""
        value: JobQueue = self._ctx[QUEUE]
        return value

    @property
    def bus(self) -> EventBus:
        """The event bus to every web process (required)."""
        value: EventBus = self._ctx[BUS]
        return value

    @property
    def bus_or_none(self) -> EventBus | None:
        """The event bus, when the caller provided one."""
        value: EventBus | None = self._ctx.get(BUS)
        return value

    @property
    def github(self) -> GitHubApp | None:
        """The App's GitHub client (None in contexts that have none)."""
        value: GitHubApp | None = self._ctx.get(GITHUB)
        return value

    @property
    def github_app(self) -> GitHubApp:
        """The App's GitHub client, for jobs that cannot run without one."""
        value: GitHubApp = self._ctx[GITHUB]
        return value

    @property
    def image_policy(self) -> dict[str, Any]:
        """Keyword overrides for `images.generate_states` (empty unless a test sets them)."""
        return dict(self._ctx.get(IMAGE_POLICY) or {})

    @property
    def job_id(self) -> str | None:
        """The running job's id, when a queue runs it."""
        value: str | None = self._ctx.get(JOB_ID)
        return value

    @property
    def job_try(self) -> int:
        """Which try this is, from 1 (1 outside a queue)."""
        return int(self._ctx.get(JOB_TRY) or 1)
