"""`tamagitto jobs failed` and `tamagitto jobs retry`: the parked jobs, in either mode.

A job that still fails after every try is parked, never dropped: in Redis (production) or as a
`failed` row of the jobs table (embedded). These commands list them and queue them again; a
running worker (or `tamagitto serve` in embedded mode) picks them up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the database and queue load only when the command runs
    from app.core.config import Settings
    from app.infra.queue.base import ParkedJob


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`jobs failed [--json]` and `jobs retry ID... | --all`."""
    jobs = sub.add_parser(
        "jobs",
        help="list and re-run jobs that failed for good",
        description="Jobs that failed after every retry are parked here, never dropped.",
    )
    actions = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")
    failed = actions.add_parser("failed", help="list parked jobs, oldest failure first")
    failed.add_argument("--json", action="store_true", help="one JSON document")
    failed.set_defaults(func=cmd_failed)
    retry = actions.add_parser("retry", help="queue parked jobs again, tries reset")
    retry.add_argument("ids", nargs="*", metavar="ID", help="job ids from `jobs failed`")
    retry.add_argument("--all", action="store_true", help="every parked job")
    retry.set_defaults(func=cmd_retry)


async def _failed(settings: Settings) -> list[ParkedJob]:
    from app.infra.runtime import open_runtime
    from app.jobs.functions import TABLE

    async with open_runtime(settings, run_jobs=False, jobs=TABLE) as runtime:
        return await runtime.queue.failed()


async def _retry(settings: Settings, ids: list[str] | None) -> list[str]:
    from app.infra.runtime import open_runtime
    from app.jobs.functions import TABLE

    async with open_runtime(settings, run_jobs=False, jobs=TABLE) as runtime:
        return await runtime.queue.retry(ids)


def describe(job: ParkedJob) -> str:
    """One line per parked job: id, function, tries, when, and the error's first line."""
    when = job.failed_at.strftime("%Y-%m-%d %H:%M:%S") if job.failed_at else "?"
    error = job.error.splitlines()[0] if job.error else ""
    return f"{job.id}  {job.function}  tries={job.tries}  {when}  {error[:160]}"


def cmd_failed(args: argparse.Namespace) -> int:
    """List the parked jobs."""
    from app.cli.common import settings_or_exit

    jobs = asyncio.run(_failed(settings_or_exit()))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": j.id,
                        "function": j.function,
                        "tries": j.tries,
                        "failed_at": j.failed_at.isoformat() if j.failed_at else None,
                        "error": j.error,
                    }
                    for j in jobs
                ]
            )
        )
        return 0
    for job in jobs:
        print(describe(job))
    print(f"tamagitto: {len(jobs)} parked job(s)", file=sys.stderr)
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    """Queue the named parked jobs (or all of them) again; exit 1 if a named one is unknown."""
    if bool(args.ids) == bool(args.all):
        print("tamagitto: name job ids or pass --all (not both)", file=sys.stderr)
        return 2
    from app.cli.common import settings_or_exit

    done = asyncio.run(_retry(settings_or_exit(), None if args.all else list(args.ids)))
    for job_id in done:
        print(job_id)
    missing = [i for i in args.ids if i not in done]
    for job_id in missing:
        print(f"tamagitto: no parked job {job_id!r}", file=sys.stderr)
    print(f"tamagitto: {len(done)} job(s) queued again", file=sys.stderr)
    return 1 if missing else 0
