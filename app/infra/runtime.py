"""Long-lived resources shared by the web app, the worker and the CLI, opened in one place."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.cron import CronJob
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core import db
from app.core.config import Settings
from app.infra import job_context
from app.infra.bus import EventBus, LocalBus, RedisBus, event_channel
from app.infra.github import GitHubApp
from app.infra.queue.arq import ArqQueue
from app.infra.queue.base import JobFunction, JobQueue
from app.infra.queue.inline import InlineCron, InlineQueue

log = logging.getLogger(__name__)

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)


@dataclass
class Runtime:
    """Everything a request handler or a job needs besides its arguments."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    queue: JobQueue
    bus: EventBus
    http: aiohttp.ClientSession
    redis: ArqRedis | None = None
    github: GitHubApp | None = None
    # Problems that do not stop the process but put a promise at risk; /readyz lists them.
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.github is None:
            self.github = GitHubApp(self.settings, self.http)

    def job_ctx(self) -> dict[str, Any]:
        """The arq-style `ctx` dict that job functions receive in both modes."""
        return job_context.resources(
            settings=self.settings,
            engine=self.engine,
            sessionmaker=self.sessionmaker,
            queue=self.queue,
            bus=self.bus,
            http=self.http,
            redis=self.redis,
            github=self.github,
        )


@dataclass(frozen=True)
class JobTable:
    """The job functions and cron jobs the in-process queue runs (embedded mode).

    The table lives with the jobs (`app.jobs.functions.TABLE`). Callers hand it in, so the
    runtime, a floor below every job, never imports them.
    """

    functions: Sequence[JobFunction] = ()
    cron_jobs: Sequence[CronJob] = ()


NO_JOBS = JobTable()

SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)


def runtime_of(request: web.Request) -> Runtime:
    """The process's shared resources, for handlers of the root application.

    The keys live here, below every feature, so that features reach the runtime without
    importing the application factory that imports them.
    """
    return request.app[RUNTIME]


def redis_settings(settings: Settings) -> RedisSettings:
    """arq's connection settings from REDIS_URL; short timeouts so outages show quickly."""
    assert settings.redis_url is not None
    rs = RedisSettings.from_dsn(settings.redis_url.get_secret_value())
    rs.conn_timeout = 2
    rs.conn_retries = 1
    return rs


async def open_redis(settings: Settings) -> ArqRedis:
    """An arq Redis pool; it also serves pub/sub, pings and rate limits."""
    return await create_pool(redis_settings(settings))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def persistence_problem(redis: Any) -> str | None:
    """None when Redis fsyncs every write to its append-only file before answering.

    A 202 means "stored": with `appendonly yes` and `appendfsync always`, a delivery Redis
    acknowledged survives `kill -9` of redis-server; with less, the last second (or all of
    it) is lost. Managed Redis may refuse CONFIG, so that is a warning too, not a failure.
    """
    try:
        config = {_text(k): _text(v) for k, v in (await redis.config_get("append*")).items()}
    except Exception as exc:
        return (
            f"cannot read Redis persistence settings ({type(exc).__name__}); acknowledged "
            "deliveries survive a Redis crash only with appendonly yes and appendfsync always"
        )
    aof, fsync = config.get("appendonly"), config.get("appendfsync")
    if aof == "yes" and fsync == "always":
        return None
    return (
        f"Redis runs with appendonly {aof} and appendfsync {fsync}: a crash of redis-server "
        "loses deliveries already acknowledged; set appendonly yes and appendfsync always"
    )


def is_sqlite(settings: Settings) -> bool:
    """Embedded database?"""
    return make_url(settings.database_url).get_backend_name() == "sqlite"


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, *, run_jobs: bool, jobs: JobTable
) -> AsyncIterator[Runtime]:
    """Open engine, HTTP session, Redis, queue and bus; close them in reverse order.

    `run_jobs` starts the in-process job runner and cron (embedded web process only); `jobs`
    is what that runner knows (production mode ignores it: arq workers have their own).
    """
    async with contextlib.AsyncExitStack() as stack:
        engine = db.create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        await db.check_connection(engine)
        if is_sqlite(settings):
            await db.upgrade_async(settings.database_url)
        sessionmaker = db.make_sessionmaker(engine)
        http = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        stack.push_async_callback(http.close)
        runtime = await _open_seams(stack, settings, engine, sessionmaker, http, run_jobs, jobs)
        yield runtime


async def _open_seams(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    http: aiohttp.ClientSession,
    run_jobs: bool,
    jobs: JobTable,
) -> Runtime:
    """Pick the queue and bus for this mode (the only place the two modes differ)."""
    if settings.redis_url is not None:
        redis = await open_redis(settings)
        stack.push_async_callback(redis.aclose)
        bus = RedisBus(redis, event_channel(settings.redis_url.get_secret_value()))
        await bus.start()
        stack.push_async_callback(bus.stop)
        queue = ArqQueue(redis)
        stack.push_async_callback(queue.aclose)  # answer the deliveries in flight first
        runtime = Runtime(settings, engine, sessionmaker, queue, bus, http, redis)
        problem = await persistence_problem(redis)
        if problem:
            log.error("NOT DURABLE: %s", problem)
            runtime.warnings.append(problem)
        return runtime
    inline = InlineQueue(sessionmaker, {f.__name__: f for f in jobs.functions})
    runtime = Runtime(settings, engine, sessionmaker, inline, LocalBus(), http)
    inline.ctx = runtime.job_ctx()
    if run_jobs:
        await inline.start()
        stack.push_async_callback(inline.stop)
        cron = InlineCron(list(jobs.cron_jobs), inline.ctx)
        cron.start()
        stack.push_async_callback(cron.stop)
    return runtime
