"""The aiohttp application factory: resources in cleanup_ctx, plumbing routes, middlewares."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text

from app.core import db
from app.core.config import Settings
from app.core.logs import request_id
from app.infra.runtime import (
    NO_JOBS,
    RUNTIME,
    SETTINGS,
    JobTable,
    Runtime,
    open_runtime,
    runtime_of,
)

log = logging.getLogger(__name__)


READY_TIMEOUT = 2.0

REQUESTS = Counter(
    "tamagitto_http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
LATENCY = Histogram(
    "tamagitto_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Feature = Callable[[web.Application], None]

# `labels()` takes a lock and builds its key on every call; every request passes here, so the
# children (one per method, route and status seen) are kept once found.
_COUNTED: dict[tuple[str, str, int], Any] = {}
_TIMED: dict[str, Any] = {}


def observe(method: str, route: str, status: int, elapsed: float) -> None:
    """Count and time one request."""
    counter = _COUNTED.get((method, route, status))
    if counter is None:
        counter = _COUNTED[method, route, status] = REQUESTS.labels(method, route, str(status))
    counter.inc()
    timer = _TIMED.get(route)
    if timer is None:
        timer = _TIMED[route] = LATENCY.labels(route)
    timer.observe(elapsed)


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id (GitHub's delivery id for webhooks), metrics and a log line."""
    rid = request.headers.get("X-GitHub-Delivery") or request.headers.get("X-Request-Id")
    token = request_id.set((rid or uuid.uuid4().hex)[:64])
    started = time.perf_counter()
    route = request.match_info.route.resource
    route_name = route.canonical if route is not None else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers.setdefault("X-Request-Id", request_id.get())
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - started
        observe(request.method, route_name, status, elapsed)
        log.debug("%s %s -> %s in %.1f ms", request.method, request.path, status, elapsed * 1e3)
        request_id.reset(token)


@web.middleware
async def database_outage(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages, badges and images whose database is unreachable answer 503 with Retry-After.

    A 500 would tell people (and caches, and GitHub's camo proxy) that something is broken
    for good; the API's own middleware does the same in its error shape.
    """
    try:
        return await handler(request)
    except Exception as exc:
        if not db.is_unavailable(exc):
            raise
        from app.web.api.errors import database_unavailable, error_response

        log.warning("database unavailable in %s %s (%s)", request.method, request.path, exc)
        return error_response(database_unavailable())


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def _check_database(runtime: Runtime) -> None:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check_redis(runtime: Runtime) -> None:
    assert runtime.redis is not None
    await runtime.redis.ping()


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database and (when configured) Redis answer within a short timeout."""
    runtime = runtime_of(request)
    checks: dict[str, Callable[[Runtime], Awaitable[None]]] = {"database": _check_database}
    if runtime.redis is not None:
        checks["redis"] = _check_redis
    results = await asyncio.gather(*(_probe(name, fn, runtime) for name, fn in checks.items()))
    failing = [name for name, error in results if error]
    body: dict[str, Any] = {
        "status": "unavailable" if failing else "ready",
        "checks": {name: error or "ok" for name, error in results},
    }
    if failing:
        body["failing"] = failing
    if runtime.warnings:
        body["warnings"] = runtime.warnings
    return web.json_response(body, status=503 if failing else 200)


async def _probe(
    name: str, check: Callable[[Runtime], Awaitable[None]], runtime: Runtime
) -> tuple[str, str | None]:
    """Run one check; log a failure so outages show in the logs, not only in /readyz."""
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await check(runtime)
    except Exception as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        log.warning("readiness: %s is failing (%s)", name, reason)
        return name, reason
    return name, None


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


def settle_garbage_collector() -> None:
    """Move everything loaded at start-up out of the collector's reach.

    The modules, models and SDKs imported at start-up are ~190k objects; a full collection
    over them pauses the loop for ~100 ms, which is what request p99 would show.
    """
    gc.collect()
    gc.freeze()


def _runtime_ctx(
    settings: Settings, run_jobs: bool
) -> Callable[[web.Application], AsyncIterator[None]]:
    """cleanup_ctx entry owning every long-lived resource of the process."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(settings, run_jobs=run_jobs, jobs=job_table(settings)) as runtime:
            app[RUNTIME] = runtime
            settle_garbage_collector()
            yield

    return ctx


def job_table(settings: Settings) -> JobTable:
    """The jobs this process can run: all of them when embedded, none when arq runs them.

    Production web processes only enqueue, so they never import the pipeline and its parsers.
    """
    if settings.redis_url is not None:
        return NO_JOBS
    from app.jobs.functions import TABLE

    return TABLE


def features() -> list[Feature]:
    """Route groups added by the product's features, each a `setup(app)` function."""
    from app.web import setup_wizard, webhook_proxy, webhooks
    from app.web.api.routes import setup as api_setup
    from app.web.site.handlers import setup as site_setup

    return [webhooks.setup, webhook_proxy.setup, setup_wizard.setup, api_setup, site_setup]


def init_app(settings: Settings, *, run_jobs: bool | None = None) -> web.Application:
    """Build the application; resources open on startup and close on cleanup.

    `run_jobs` defaults to embedded mode (no Redis): jobs and cron then run in this process.
    """
    app = web.Application(middlewares=[request_context, database_outage], client_max_size=1024**2)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(
        _runtime_ctx(settings, settings.embedded if run_jobs is None else run_jobs)
    )
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    for setup in features():
        setup(app)
    return app
