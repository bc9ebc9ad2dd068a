"""Job names, job ids and typed enqueue helpers, written once for every module that queues a job.

A job's name is the `__name__` of the function arq (or the inline queue) runs;
`app.jobs.functions` checks at import that the table of functions and these names agree. A job
id deduplicates (arq's `_job_id`, the jobs table's key), so whichever path queues a job (a push,
the poller, a redelivery, the API) must spell it the same way: callers use the helpers below and
never write a name or an id format themselves. The registry sits on the queue's floor, so that
the queue (which long jobs go where), the pets' jobs and everything above can all use it.

The registry also holds the retry policy, once for both modes: how many tries a job gets, the
backoff between them, which failures are worth another try (`durable`), and which queue and
timeout a job runs under. Jobs take the typed `JobContext`; `as_arq` is the one adapter from
arq's dict `ctx`, used for every queued job and cron job in both modes.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec, Protocol, TypeVar

from arq import Retry
from arq.constants import default_queue_name
from arq.typing import WorkerCoroutine
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError

from app.infra.job_context import JobContext
from app.infra.queue.base import QueueUnavailable

if TYPE_CHECKING:
    from app.infra.queue.base import JobQueue

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
# A job as written: the typed context first, then its JSON arguments.
TypedJob = Callable[Concatenate[JobContext, P], Awaitable[R]]


class ArqJob(WorkerCoroutine, Protocol):
    """A job as arq calls it (dict `ctx` first), registered under its `__name__`."""

    __name__: str


PROCESS_EVENT: Final = "process_event"
ANALYZE: Final = "analyze_commit"
PUSH_STATUS: Final = "post_push_status"
POLL_ALL: Final = "poll_repositories"
POLL_REPOSITORY: Final = "poll_repository"
DECAY: Final = "decay_pets"
IMAGES: Final = "generate_images"
FORECAST: Final = "forecast_pull_request"
SWEEP_CHECKS: Final = "sweep_check_runs"
# Caretakers and notifications (issue 18): app/jobs/caretaking.py, app/jobs/notify_*.py.
CARETAKER_BACKFILL: Final = "backfill_caretakers"
NOTIFY_SCAN: Final = "scan_notifications"
NOTIFY_DIGEST: Final = "send_digests"
NOTIFY_DELIVER: Final = "deliver_notification"

JOBS: Final = frozenset(
    {
        PROCESS_EVENT,
        ANALYZE,
        PUSH_STATUS,
        POLL_ALL,
        POLL_REPOSITORY,
        DECAY,
        IMAGES,
        FORECAST,
        SWEEP_CHECKS,
        CARETAKER_BACKFILL,
        NOTIFY_SCAN,
        NOTIFY_DIGEST,
        NOTIFY_DELIVER,
    }
)
# Jobs (and cron jobs) that may run long get their own arq queue and worker.
LONG_JOBS: Final = frozenset(
    {DECAY, POLL_ALL, IMAGES, SWEEP_CHECKS, CARETAKER_BACKFILL, NOTIFY_SCAN, NOTIFY_DIGEST}
)

# A notification's delivery retries on its own schedule (seconds after each failed try: about
# eleven hours in all), recorded on its outbox row, so a webhook that is down for an afternoon
# still gets the message; each try is a job of its own (`notify_job_id`).
NOTIFY_RETRY_DELAYS: Final = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
NOTIFY_MAX_TRIES: Final = len(NOTIFY_RETRY_DELAYS) + 1

# A job's in-progress lock in arq lasts its worker's longest timeout + 10 s, and a crashed
# worker's jobs wait that long. Normal jobs keep it at 40 s; jobs that may run longer
# (the hourly decay, the poller's sweep, picture generation) have their own queue and worker.
NORMAL_TIMEOUT: Final = 30
LONG_TIMEOUT: Final = 1800
LONG_QUEUE: Final = "tamagitto:queue:long"

# Every job gets this many tries in both modes (arq's max_tries, the inline runner, the jobs
# that give up on their own). With `transient_backoff` they span about nine minutes.
MAX_TRIES: Final = 7
BACKOFF_FIRST: Final = 2.0
BACKOFF_FACTOR: Final = 3.0
BACKOFF_MAX: Final = 300.0
# GitHub's own trouble (5xx, timeouts) backs off 2, 4, 8, ... s; a rate limit waits for as long
# as GitHub asks instead (`app.jobs.github_errors`).
GITHUB_BACKOFF_BASE: Final = 2.0


def queue_for(name: str) -> str:
    """The arq queue a job function belongs to."""
    return LONG_QUEUE if name in LONG_JOBS else default_queue_name


def transient_backoff(job_try: int) -> float:
    """2, 6, 18, 54, 162, 300 s between the seven tries: a short outage costs seconds, a long
    one about nine minutes before the job is parked."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * BACKOFF_FACTOR ** max(0, job_try - 1))


def last_try(job_try: int) -> bool:
    """Is this the job's last try? A job that fails now is parked (or gives up on its own)."""
    return job_try >= MAX_TRIES


def github_backoff(job_try: int) -> float:
    """Exponential backoff for GitHub 5xx and timeouts."""
    return GITHUB_BACKOFF_BASE ** max(1, job_try)


def is_transient(exc: BaseException) -> bool:
    """Database or Redis trouble (or a dropped socket): worth another try later."""
    if isinstance(exc, DBAPIError | OSError | TimeoutError | QueueUnavailable):
        return True
    if type(exc).__name__ == "DatabaseUnavailable":
        return True
    # redis-py's ConnectionError covers BusyLoadingError (a restarted Redis replaying its AOF)
    return isinstance(exc, RedisConnectionError | RedisTimeoutError)


def durable(function: TypedJob[P, R]) -> TypedJob[P, R]:
    """Wrap a job so database and Redis failures retry with backoff instead of failing it.

    On the last try the original error propagates: the queue then parks the job for
    `tamagitto jobs retry`. The wrapper keeps the function's name (arq registers by it).
    """

    @functools.wraps(function)
    async def run(ctx: JobContext, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await function(ctx, *args, **kwargs)
        except Exception as exc:
            if not is_transient(exc) or last_try(ctx.job_try):
                raise
            delay = transient_backoff(ctx.job_try)
            log.warning(
                "job %s (%s) try %d/%d failed (%s: %s); again in %.0f s",
                ctx.job_id,
                function.__name__,
                ctx.job_try,
                MAX_TRIES,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
                delay,
            )
            raise Retry(defer=delay) from exc

    return run


def as_arq(function: TypedJob[P, R]) -> ArqJob:
    """The arq boundary: arq (and the inline queue, which keeps arq's contract) call a job with
    a plain dict `ctx`; the wrapper builds its `JobContext` once per run and calls the typed job.

    It keeps the function's name, which arq registers and the registry names it by.
    """

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *args: P.args, **kwargs: P.kwargs) -> R:
        return await function(JobContext(ctx), *args, **kwargs)

    return run


def delivery_job_id(delivery: str) -> str:
    """One event job per webhook delivery id."""
    return f"delivery:{delivery}"


def analyze_job_id(repository_id: int, sha: str) -> str:
    """One analysis job per repository and sha, whichever path queued it."""
    return f"analyze:{repository_id}:{sha}"


def push_status_job_id(repository_id: int, head: str) -> str:
    """One summary status per pushed head of a big push."""
    return f"push-status:{repository_id}:{head}"


def forecast_job_id(repository_id: int, number: int, head: str, check_run_id: int) -> str:
    """One forecast per pull request head and check run: a re-run has a new check run."""
    return f"forecast:{repository_id}:{number}:{head}:{check_run_id}"


def trigger_job_id(repository_id: int, now: float | None = None) -> str:
    """One on-demand poll per repository per minute."""
    minute = int((time.time() if now is None else now) // 60)
    return f"trigger:{repository_id}:{minute}"


def images_job_id(entity_id: int, states: Iterable[str] | None) -> str:
    """One job per pet and set of states, so repeated triggers collapse."""
    return f"{IMAGES}:{entity_id}:{'+'.join(sorted(states)) if states else 'all'}"


def notify_job_id(notification_id: int, attempt: int, due: float) -> str:
    """One delivery job per outbox row, try and due time: a retry or a wait is a new job."""
    return f"notify:{notification_id}:{attempt}:{int(due)}"


async def enqueue_notification(
    queue: JobQueue, notification_id: int, attempt: int, due: float, *, defer_by: float = 0
) -> bool:
    """Queue `deliver_notification` for an outbox row (due at epoch second `due`)."""
    return await queue.enqueue(
        NOTIFY_DELIVER,
        notification_id,
        job_id=notify_job_id(notification_id, attempt, due),
        defer_by=max(0.0, defer_by) or None,
    )


async def enqueue_event(
    queue: JobQueue, event: str, delivery: str, body: str, *, unique_for: float
) -> bool:
    """Queue a webhook delivery for `process_event`, deduplicated by delivery id."""
    return await queue.enqueue(
        PROCESS_EVENT,
        event,
        delivery,
        body,
        job_id=delivery_job_id(delivery),
        unique_for=unique_for,
    )


async def enqueue_analysis(
    queue: JobQueue, repository_id: int, sha: str, post_status: bool, after: str | None
) -> bool:
    """Queue `analyze_commit` for one commit, deduplicated by repository and sha."""
    return await queue.enqueue(
        ANALYZE, repository_id, sha, post_status, after, job_id=analyze_job_id(repository_id, sha)
    )


async def enqueue_reanalysis(
    queue: JobQueue, repository_id: int, sha: str, *, defer_by: float
) -> bool:
    """Queue `analyze_commit` again later, without an id (the running job still holds it)."""
    return await queue.enqueue(ANALYZE, repository_id, sha, True, defer_by=defer_by)


async def enqueue_push_status(
    queue: JobQueue, repository_id: int, head: str, shas: Sequence[str]
) -> bool:
    """Queue `post_push_status` for a big push's head."""
    return await queue.enqueue(
        PUSH_STATUS, repository_id, head, list(shas), job_id=push_status_job_id(repository_id, head)
    )


async def enqueue_forecast(
    queue: JobQueue, repository_id: int, number: int, head: str, check_run_id: int
) -> bool:
    """Queue `forecast_pull_request` for one head of a pull request (`check_run_id` 0: the
    forecast goes out as a commit status)."""
    return await queue.enqueue(
        FORECAST,
        repository_id,
        number,
        head,
        check_run_id,
        job_id=forecast_job_id(repository_id, number, head, check_run_id),
    )


async def enqueue_poll(queue: JobQueue, repository_id: int) -> bool:
    """Queue `poll_repository` now, at most once a minute per repository."""
    return await queue.enqueue(POLL_REPOSITORY, repository_id, job_id=trigger_job_id(repository_id))


async def enqueue_images(queue: JobQueue, entity_id: int, states: Sequence[str] | None) -> bool:
    """Queue `generate_images` for a pet (every state when `states` is None)."""
    args: list[Any] = [entity_id] if states is None else [entity_id, list(states)]
    return await queue.enqueue(IMAGES, *args, job_id=images_job_id(entity_id, states))
