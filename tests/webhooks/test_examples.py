"""Every example payload of every event type: a documented answer, and a clean worker run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.core.config import Settings
from app.core.models import Job
from app.infra.queue.inline import InlineQueue
from app.infra.runtime import RUNTIME
from app.web.factory import init_app
from tests.conftest import webhook_examples, webhook_headers
from tests.fakes.github import FakeGitHub


async def test_every_example_is_answered_and_processed(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    app_env: dict[str, str],
    fake_github: FakeGitHub,
) -> None:
    examples = webhook_examples()
    for _, payload in examples:
        inst = (payload.get("installation") or {}).get("id")
        if inst:
            fake_github.add_installation(int(inst))
    client = await aiohttp_client(init_app(make_settings(**app_env), run_jobs=True))
    answers: Counter[tuple[str, int]] = Counter()
    for index, (event, payload) in enumerate(examples):
        body = json.dumps(payload).encode()
        resp = await client.post(
            "/webhook/github", data=body, headers=webhook_headers(event, body, f"example-{index}")
        )
        answers[(event, resp.status)] += 1
        expected = 200 if event == "ping" else 202
        assert resp.status == expected, (event, resp.status, await resp.text())
    assert len({e for e, _ in answers}) == len({e for e, _ in examples}) >= 50
    queue = client.app[RUNTIME].queue
    assert isinstance(queue, InlineQueue)
    await queue.join(timeout=120)
    async with client.app[RUNTIME].sessionmaker() as session:
        jobs = (await session.scalars(select(Job))).all()
    failed = [(j.function, j.id, j.error) for j in jobs if j.status != "done"]
    assert failed == []
    assert (
        sum(j.function == "process_event" for j in jobs) == len(examples) - answers[("ping", 200)]
    )
