"""arq workers for `tamagitto worker`: job functions, cron jobs, startup and shutdown.

One process runs two arq workers on one event loop and one set of resources: the normal queue
(webhooks, analyses, statuses; timeout NORMAL_TIMEOUT, so a crashed worker's jobs run again
within a minute) and the long queue (the hourly decay, the poller's sweep, pictures).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import signal
from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.constants import default_queue_name
from arq.cron import CronJob

from app.core.config import Settings, load_settings
from app.core.logs import configure as configure_logging
from app.entities.images import log_startup
from app.infra import job_context
from app.infra.job_context import JobContext
from app.infra.queue.base import JobFunction
from app.infra.registry import LONG_QUEUE, LONG_TIMEOUT, MAX_TRIES, NORMAL_TIMEOUT
from app.infra.runtime import open_runtime, redis_settings
from app.jobs.functions import CRON_JOBS, LONG_FUNCTIONS, NORMAL_FUNCTIONS, TABLE
from worker.durable import DurableWorker

log = logging.getLogger(__name__)

_STACK_KEY = "_runtime_stack"


async def startup(ctx: dict[str, Any]) -> None:
    """Open the same resources the web app uses and expose them to jobs through ctx."""
    settings: Settings = JobContext(ctx).settings_or_none or load_settings()
    stack = contextlib.AsyncExitStack()
    runtime = await stack.enter_async_context(open_runtime(settings, run_jobs=False, jobs=TABLE))
    ctx.update(runtime.job_ctx())
    ctx[_STACK_KEY] = stack


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close what startup opened."""
    stack: contextlib.AsyncExitStack | None = ctx.pop(_STACK_KEY, None)
    if stack is not None:
        await stack.aclose()


class WorkerSettings:
    """The normal queue's settings; the CLI fills in redis_settings from REDIS_URL."""

    functions: ClassVar[list[JobFunction]] = NORMAL_FUNCTIONS
    on_startup = startup
    on_shutdown = shutdown
    max_tries = MAX_TRIES
    job_timeout = NORMAL_TIMEOUT
    keep_result = 3600
    # arq polls Redis for due jobs; 50 ms keeps webhook-to-status latency low at ~20 cheap
    # ZRANGEBYSCOREs a second per idle worker.
    poll_delay = 0.05
    redis_settings: RedisSettings | None = None


class LongWorkerSettings(WorkerSettings):
    """The long queue: cron jobs and picture generation, with their long timeout."""

    functions: ClassVar[list[JobFunction]] = LONG_FUNCTIONS
    cron_jobs: ClassVar[list[CronJob]] = CRON_JOBS
    job_timeout = LONG_TIMEOUT
    poll_delay = 0.5


def worker_kwargs(settings: Settings, *, long: bool = False, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for `DurableWorker` (the normal queue, or the long one)."""
    spec = LongWorkerSettings if long else WorkerSettings
    kwargs: dict[str, Any] = {
        "functions": list(spec.functions),
        "cron_jobs": [copy.copy(job) for job in getattr(spec, "cron_jobs", [])],
        "queue_name": LONG_QUEUE if long else default_queue_name,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_tries": spec.max_tries,
        "job_timeout": spec.job_timeout,
        "keep_result": spec.keep_result,
        "poll_delay": spec.poll_delay,
        "redis_settings": redis_settings(settings),
        "ctx": {job_context.SETTINGS: settings},
    }
    kwargs.update(overrides)
    return kwargs


async def run_workers(settings: Settings, *, burst: bool = False) -> None:
    """Both queues' workers on one loop and one runtime, until SIGTERM or SIGINT."""
    configure_logging(settings)
    log_startup(settings)
    async with open_runtime(settings, run_jobs=False, jobs=TABLE) as runtime:
        workers = [
            DurableWorker(
                **worker_kwargs(
                    settings,
                    long=long,
                    burst=burst,
                    handle_signals=False,
                    on_startup=None,
                    on_shutdown=None,
                    ctx=runtime.job_ctx(),
                )
            )
            for long in (False, True)
        ]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _stop_all, workers, sig)
        try:
            await _run_together(workers)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            for worker in workers:
                await _close(worker)


async def _run_together(workers: list[DurableWorker]) -> None:
    """Run every worker; when one stops with an error, stop the others and raise it."""
    tasks = [asyncio.ensure_future(w.async_run()) for w in workers]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    _stop_all(workers, signal.SIGTERM)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            raise result


async def _close(worker: DurableWorker) -> None:
    """Close one worker; Redis being down at that moment must not hide the others' close."""
    try:
        await worker.close()
    except Exception as exc:
        log.warning("worker: closing on queue %s failed (%s)", worker.queue_name, exc)


def _stop_all(workers: list[DurableWorker], sig: signal.Signals) -> None:
    """arq's own signal handling, for every worker: running jobs are cancelled and requeued."""
    for worker in workers:
        if worker.main_task is not None and not worker.main_task.done():
            worker.handle_sig(sig)
