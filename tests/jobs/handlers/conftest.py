"""Fixtures for handler tests: a job ctx over real resources, in both modes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.core.config import Settings
from app.infra.runtime import open_runtime
from app.jobs.functions import TABLE
from tests.conftest import truncate_all


@pytest.fixture(params=["embedded", "production"])
async def ctx(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    app_env: dict[str, str],
    pg_url: str,
    redis_url: str,
) -> AsyncIterator[dict[str, Any]]:
    """The ctx jobs receive; jobs queued by handlers are stored, not run."""
    env = dict(app_env)
    if request.param == "production":
        env.update(DATABASE_URL=pg_url, REDIS_URL=redis_url)
        await truncate_all(pg_url)  # the run's database is shared with other modules
    settings = make_settings(**env)
    async with contextlib.AsyncExitStack() as stack:
        runtime = await stack.enter_async_context(
            open_runtime(settings, run_jobs=False, jobs=TABLE)
        )
        ctx = runtime.job_ctx()
        ctx["mode"] = request.param
        yield ctx
    if request.param == "production":
        await truncate_all(pg_url)
