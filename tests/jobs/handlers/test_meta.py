"""`app/jobs/handlers/meta.py`: the App's webhook was deleted."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from app.core.models import Repository
from tests.conftest import example
from tests.jobs.handlers.helpers import rows, run


async def test_a_deleted_hook_is_logged_as_an_error(
    ctx: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Only polling will see new commits now: say so loudly, and change nothing."""
    payload = example("meta", "deleted")
    with caplog.at_level(logging.ERROR, logger="app.jobs.handlers.meta"):
        await run(ctx, "meta", payload)
    (record,) = [r for r in caplog.records if r.name == "app.jobs.handlers.meta"]
    assert record.levelno == logging.ERROR
    assert str(payload["hook_id"]) in record.getMessage()
    assert await rows(ctx, Repository) == []
