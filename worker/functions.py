"""The registry of job functions and cron jobs, shared by arq and the in-process queue."""

from __future__ import annotations

from arq.cron import CronJob

from app import poller
from app.entities import jobs as pet_jobs
from app.handlers import process_event
from app.pipeline import analyze_commit, post_push_status
from app.queue import JobFunction

FUNCTIONS: list[JobFunction] = [
    process_event,
    analyze_commit,
    post_push_status,
    poller.poll_repositories,
    poller.poll_repository,
    *pet_jobs.FUNCTIONS,
]
CRON_JOBS: list[CronJob] = [*pet_jobs.cron_jobs(), *poller.cron_jobs()]
