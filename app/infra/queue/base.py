"""The job-queue seam: what the rest of the code needs from a queue, in either mode.

`app.infra.queue.arq` keeps jobs in Redis for `tamagitto worker` (production);
`app.infra.queue.inline` keeps them as database rows and runs them in the web process
(embedded mode). Both run the same job functions (`app.jobs.functions`) with the same retry
policy (`app.infra.registry`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from arq.constants import default_queue_name

# What a queue runs: arq's convention `async def job(ctx: dict, *args)`.
JobFunction = Callable[..., Awaitable[Any]]


class QueueUnavailable(Exception):
    """The queue could not store the job; callers must not report success."""


@dataclass(frozen=True)
class ParkedJob:
    """A job that failed for good, as `tamagitto jobs failed` lists it."""

    id: str
    function: str
    args: list[Any]
    tries: int
    error: str
    failed_at: datetime | None
    queue: str = default_queue_name

    def to_json(self) -> str:
        """What the parked hash stores (args are JSON in both modes)."""
        return json.dumps(
            {
                "function": self.function,
                "args": self.args,
                "tries": self.tries,
                "error": self.error,
                "failed_at": self.failed_at.isoformat() if self.failed_at else None,
                "queue": self.queue,
            },
            default=str,
        )

    @classmethod
    def from_json(cls, job_id: str, raw: str | bytes) -> ParkedJob:
        """Read an entry of the parked hash back."""
        data = json.loads(raw)
        failed_at = data.get("failed_at")
        return cls(
            id=job_id,
            function=data.get("function", "?"),
            args=list(data.get("args") or []),
            tries=int(data.get("tries") or 0),
            error=data.get("error") or "",
            failed_at=datetime.fromisoformat(failed_at) if failed_at else None,
            queue=data.get("queue") or default_queue_name,
        )


class JobQueue(Protocol):
    """What the rest of the code needs from a queue."""

    async def enqueue(
        self,
        name: str,
        *args: Any,
        job_id: str | None = None,
        defer_by: float | None = None,
        unique_for: float | None = None,
    ) -> bool:
        """Queue a job; False when a job with this id is already queued or recently done.

        `unique_for` (seconds) reserves `job_id` for that long even after the job finished:
        webhook deliveries use it for GitHub's 3-day redelivery window.
        """
        ...

    async def ping(self) -> None:
        """Raise if the queue cannot accept jobs right now."""
        ...

    async def failed(self) -> list[ParkedJob]:
        """Jobs that failed for good and wait for `tamagitto jobs retry`, oldest first."""
        ...

    async def retry(self, ids: Sequence[str] | None = None) -> list[str]:
        """Queue parked jobs again (all of them when `ids` is None); the ids requeued."""
        ...
