"""The registry of job functions and cron jobs, shared by arq and the in-process queue.

Jobs are written against the typed `JobContext`. Each is wrapped by `durable` (database and
Redis failures retry with backoff, in both modes) and then by `as_arq`, the adapter from arq's
dict `ctx` that both queues call. Jobs named in `app.infra.registry.LONG_JOBS` run on their own
arq queue, so that their long timeouts do not stretch the in-progress lock of every other job.
Job names live in the registry: the table below must match `app.infra.registry.JOBS`.
"""

from __future__ import annotations

from typing import Any

from arq.cron import CronJob, cron

from app.entities import jobs as pet_jobs
from app.infra.queue.base import JobFunction
from app.infra.registry import JOBS, LONG_JOBS, SWEEP_CHECKS, TypedJob, as_arq, durable
from app.infra.runtime import JobTable
from app.jobs import caretaking, notify_delivery, notify_outbox, poller
from app.jobs.commit_checks import sweep_check_runs
from app.jobs.forecast_job import forecast_pull_request
from app.jobs.handlers.events import process_event
from app.jobs.pipeline import analyze_commit, post_push_status

TYPED_JOBS: tuple[TypedJob[..., Any], ...] = (
    process_event,
    analyze_commit,
    post_push_status,
    poller.poll_repositories,
    poller.poll_repository,
    forecast_pull_request,
    sweep_check_runs,
    *pet_jobs.FUNCTIONS,
    caretaking.backfill_caretakers,
    notify_outbox.scan_notifications,
    notify_outbox.send_digests,
    notify_delivery.deliver_notification,
)
FUNCTIONS: list[JobFunction] = [as_arq(durable(f)) for f in TYPED_JOBS]
CRON_JOBS: list[CronJob] = [
    *pet_jobs.cron_jobs(),
    *poller.cron_jobs(),
    *caretaking.cron_jobs(),
    *notify_outbox.cron_jobs(),
    cron(
        as_arq(sweep_check_runs),
        name=SWEEP_CHECKS,
        minute=set(range(4, 60, 5)),
        unique=True,
        timeout=600,
    ),
]
TABLE = JobTable(FUNCTIONS, CRON_JOBS)

NORMAL_FUNCTIONS: list[JobFunction] = [f for f in FUNCTIONS if f.__name__ not in LONG_JOBS]
LONG_FUNCTIONS: list[JobFunction] = [f for f in FUNCTIONS if f.__name__ in LONG_JOBS]
assert {f.__name__ for f in LONG_FUNCTIONS} | {c.name for c in CRON_JOBS} <= LONG_JOBS, (
    "every long job and cron job must be named in app.infra.registry.LONG_JOBS"
)
assert {f.__name__ for f in FUNCTIONS} == JOBS, "app.infra.registry.JOBS names every job function"
