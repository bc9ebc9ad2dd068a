"""The job registry and the typed job context: names, id formats and what the helpers queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.infra import job_context, registry
from app.infra.job_context import JobContext
from app.infra.queue.base import ParkedJob
from app.jobs.functions import CRON_JOBS, FUNCTIONS, LONG_FUNCTIONS


class RecordingQueue:
    """A JobQueue that remembers what it was asked to queue."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    async def enqueue(self, name: str, *args: Any, **options: Any) -> bool:
        self.calls.append((name, args, options))
        return True

    async def ping(self) -> None:
        return None

    async def failed(self) -> list[ParkedJob]:
        return []

    async def retry(self, ids: Sequence[str] | None = None) -> list[str]:
        return []


def test_every_job_function_and_cron_job_is_named_in_the_registry() -> None:
    assert {f.__name__ for f in FUNCTIONS} == registry.JOBS
    assert {c.name for c in CRON_JOBS} == {
        registry.DECAY,
        registry.POLL_ALL,
        registry.SWEEP_CHECKS,
        registry.CARETAKER_BACKFILL,
        registry.NOTIFY_SCAN,
        registry.NOTIFY_DIGEST,
    }
    assert {f.__name__ for f in LONG_FUNCTIONS} <= registry.LONG_JOBS


def test_job_ids_keep_their_formats() -> None:
    # Stored ids (arq keys, the jobs table, redelivery windows) outlive a deploy: keep them.
    assert registry.delivery_job_id("d-1") == "delivery:d-1"
    assert registry.analyze_job_id(3, "abc") == "analyze:3:abc"
    assert registry.push_status_job_id(3, "def") == "push-status:3:def"
    assert registry.trigger_job_id(3, now=120.5) == "trigger:3:2"
    assert registry.images_job_id(4, None) == "generate_images:4:all"
    assert registry.images_job_id(4, ["sad", "happy"]) == "generate_images:4:happy+sad"
    assert registry.forecast_job_id(3, 7, "abc", 9001) == "forecast:3:7:abc:9001"
    assert registry.notify_job_id(7, 2, 1700000000.9) == "notify:7:2:1700000000"


async def test_helpers_queue_the_registered_name_args_and_id() -> None:
    queue = RecordingQueue()
    await registry.enqueue_event(queue, "push", "d-1", "{}", unique_for=60.0)
    await registry.enqueue_analysis(queue, 3, "abc", False, "prev")
    await registry.enqueue_reanalysis(queue, 3, "abc", defer_by=2.0)
    await registry.enqueue_push_status(queue, 3, "def", ("abc", "def"))
    await registry.enqueue_images(queue, 4, None)
    await registry.enqueue_images(queue, 4, ["sad"])
    await registry.enqueue_forecast(queue, 3, 7, "abc", 9001)
    assert queue.calls == [
        ("process_event", ("push", "d-1", "{}"), {"job_id": "delivery:d-1", "unique_for": 60.0}),
        ("analyze_commit", (3, "abc", False, "prev"), {"job_id": "analyze:3:abc"}),
        ("analyze_commit", (3, "abc", True), {"defer_by": 2.0}),
        ("post_push_status", (3, "def", ["abc", "def"]), {"job_id": "push-status:3:def"}),
        ("generate_images", (4,), {"job_id": "generate_images:4:all"}),
        ("generate_images", (4, ["sad"]), {"job_id": "generate_images:4:sad"}),
        ("forecast_pull_request", (3, 7, "abc", 9001), {"job_id": "forecast:3:7:abc:9001"}),
    ]
    await registry.enqueue_poll(queue, 5)
    name, args, options = queue.calls[-1]
    assert (name, args) == ("poll_repository", (5,))
    assert options["job_id"].startswith("trigger:5:")


def test_job_context_reads_the_queue_keys_with_defaults() -> None:
    empty = JobContext({})
    assert empty.job_try == 1
    assert empty.job_id is None
    assert empty.github is None
    assert empty.settings_or_none is None
    assert empty.bus_or_none is None
    assert empty.image_policy == {}
    running = JobContext({"job_try": 3, "job_id": "analyze:1:a", "image_policy": {"attempts": 1}})
    assert (running.job_try, running.job_id) == (3, "analyze:1:a")
    assert running.image_policy == {"attempts": 1}


async def test_as_arq_hands_the_typed_job_one_context_over_arqs_dict() -> None:
    seen: list[JobContext] = []

    async def job(ctx: JobContext, a: int, *, b: str) -> str:
        seen.append(ctx)
        return f"{a}{b}{ctx.job_try}"

    wrapped = registry.as_arq(job)
    raw: dict[str, Any] = {"job_try": 2}
    assert wrapped.__name__ == "job"  # arq registers a job by its name
    assert await wrapped(raw, 1, b="x") == "1x2"
    assert len(seen) == 1
    raw["job_try"] = 4
    assert seen[0].job_try == 4  # a view over arq's own dict, not a copy


def test_a_runs_ctx_carries_its_id_and_try_over_the_shared_resources() -> None:
    shared: dict[str, Any] = {job_context.SETTINGS: "s"}
    ctx = JobContext(job_context.run_ctx(shared, job_id="analyze:1:a", job_try=3))
    assert (ctx.job_id, ctx.job_try, ctx.settings) == ("analyze:1:a", 3, "s")
    assert shared == {job_context.SETTINGS: "s"}  # each run gets its own dict


def test_last_try_and_both_backoffs_come_from_the_registry() -> None:
    assert not registry.last_try(registry.MAX_TRIES - 1) and registry.last_try(registry.MAX_TRIES)
    assert [registry.github_backoff(t) for t in (0, 1, 2, 3)] == [2.0, 2.0, 4.0, 8.0]
    assert registry.transient_backoff(1) == registry.BACKOFF_FIRST
