"""The registry of job functions and cron jobs, shared by arq and the in-process queue."""

from __future__ import annotations

from arq.cron import CronJob

from app.queue import JobFunction

FUNCTIONS: list[JobFunction] = []
CRON_JOBS: list[CronJob] = []
