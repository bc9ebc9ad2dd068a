"""arq `WorkerSettings` for `tamagitto worker`: job functions, cron jobs, startup and shutdown."""

from __future__ import annotations

import contextlib
import copy
from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import CronJob

from app.config import Settings, load_settings
from app.entities.images import log_startup
from app.logs import configure as configure_logging
from app.queue import JobFunction
from app.runtime import open_runtime, redis_settings
from worker.functions import CRON_JOBS, FUNCTIONS

_STACK_KEY = "_runtime_stack"


async def startup(ctx: dict[str, Any]) -> None:
    """Open the same resources the web app uses and expose them to jobs through ctx."""
    settings: Settings = ctx.get("settings") or load_settings()
    stack = contextlib.AsyncExitStack()
    runtime = await stack.enter_async_context(open_runtime(settings, run_jobs=False))
    ctx.update(runtime.job_ctx())
    ctx[_STACK_KEY] = stack


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close what startup opened."""
    stack: contextlib.AsyncExitStack | None = ctx.pop(_STACK_KEY, None)
    if stack is not None:
        await stack.aclose()


class WorkerSettings:
    """What `arq` needs; the CLI fills in redis_settings from REDIS_URL."""

    functions: ClassVar[list[JobFunction]] = FUNCTIONS
    cron_jobs: ClassVar[list[CronJob]] = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5
    job_timeout = 300
    keep_result = 3600
    # arq polls Redis for due jobs; 50 ms keeps webhook-to-status latency low at ~20 cheap
    # ZRANGEBYSCOREs a second per idle worker.
    poll_delay = 0.05
    redis_settings: RedisSettings | None = None


def worker_kwargs(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for `arq.worker.Worker` built from our settings."""
    configure_logging(settings)
    log_startup(settings)
    kwargs: dict[str, Any] = {
        "functions": list(WorkerSettings.functions),
        "cron_jobs": [copy.copy(job) for job in WorkerSettings.cron_jobs],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_tries": WorkerSettings.max_tries,
        "job_timeout": WorkerSettings.job_timeout,
        "keep_result": WorkerSettings.keep_result,
        "poll_delay": WorkerSettings.poll_delay,
        "redis_settings": redis_settings(settings),
        "ctx": {"settings": settings},
    }
    kwargs.update(overrides)
    return kwargs
