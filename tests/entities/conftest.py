"""Fixtures for the pet: repositories and pets in a real database, and a fake Gemini server.

The fake Gemini speaks the real REST shape (`POST /v1beta/models/{model}:generateContent`), so
google-genai's own HTTP code runs against it through `GEMINI_BASE_URL`.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Repository

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
_github_ids = itertools.count(1_000_000)


def png_bytes(colour: tuple[int, int, int], size: int = 1024) -> bytes:
    """A real PNG, as large as Gemini's output, so the resize path runs."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class FakeGemini:
    """Answers from a script, then successes; records every request body."""

    script: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    base_url: str = ""

    def image_response(self, data: bytes) -> web.Response:
        """A generateContent answer with one inline image."""
        part = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}
        body = {
            "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}]
        }
        return web.json_response(body)

    async def handle(self, request: web.Request) -> web.Response:
        """Pop the next scripted answer; default is a PNG whose colour depends on the count."""
        self.paths.append(request.path)
        self.requests.append(await request.json())
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, int):
            status = {429: "RESOURCE_EXHAUSTED", 400: "INVALID_ARGUMENT"}.get(step, "INTERNAL")
            error = {"error": {"code": step, "message": f"scripted {step}", "status": status}}
            return web.json_response(error, status=step)
        if step == "safety":
            body = {
                "candidates": [
                    {"content": {"role": "model", "parts": []}, "finishReason": "IMAGE_SAFETY"}
                ]
            }
            return web.json_response(body)
        if step == "prompt_blocked":
            return web.json_response({"promptFeedback": {"blockReason": "SAFETY"}})
        if step == "text_only":
            part = {"text": "I cannot draw that."}
            body = {
                "candidates": [
                    {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}
                ]
            }
            return web.json_response(body)
        if isinstance(step, tuple) and step[0] == "sleep":
            await asyncio.sleep(step[1])
        n = len(self.requests)
        return self.image_response(png_bytes((40 * n % 256, 120, 200)))


@pytest.fixture
async def fake_gemini(aiohttp_server: Callable[..., Awaitable[Any]]) -> FakeGemini:
    """A running fake Gemini on loopback."""
    fake = FakeGemini()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/{version}/models/{model}", fake.handle)
    server = await aiohttp_server(app)
    fake.base_url = str(server.make_url("/"))
    return fake


async def add_repository(
    sessionmaker: async_sessionmaker[AsyncSession],
    language: str | None = "Python",
    archived: bool = False,
    full_name: str | None = None,
) -> Repository:
    """Insert a repository row with a fresh GitHub id."""
    github_id = next(_github_ids)
    repo = Repository(
        github_id=github_id,
        full_name=full_name or f"octo/repo-{github_id}",
        owner_login="octo",
        language=language,
        archived=archived,
    )
    async with sessionmaker() as session, session.begin():
        session.add(repo)
    return repo


@pytest.fixture(params=["postgresql", "sqlite"])
def any_sessionmaker(request: pytest.FixtureRequest) -> async_sessionmaker[AsyncSession]:
    """Both databases, for rules that must behave the same on each."""
    name = "pg_sessionmaker" if request.param == "postgresql" else "sqlite_sessionmaker"
    return request.getfixturevalue(name)
