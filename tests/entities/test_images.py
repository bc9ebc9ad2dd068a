"""Gemini pictures against a fake Gemini on loopback, through google-genai and GEMINI_BASE_URL."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.models import Entity, EntityImage
from app.entities import images, jobs, lifecycle, pictures, rules
from app.entities.images import Outcome, PetLook
from app.infra.job_context import JobContext
from tests.entities.conftest import T0, FakeGemini, add_repository, png_bytes

Maker = async_sessionmaker[AsyncSession]
LOOK = PetLook("plant", "fern", "Python", "Mochi")
FAST = {"backoff": 0.01, "timeout": 5.0}


class RecordingBus:
    """Collects published events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


@pytest.fixture
def gemini_settings(fake_gemini: FakeGemini, make_settings: Callable[..., Settings]) -> Settings:
    """Settings with a key and the fake server as the base URL."""
    return make_settings(GEMINI_API_KEY="test-key", GEMINI_BASE_URL=fake_gemini.base_url)


def parts_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every part of every content in a generateContent request body."""
    return [p for c in request["contents"] for p in c.get("parts", [])]


def inline_images(request: dict[str, Any]) -> list[bytes]:
    """Bytes of the inline images a request carried."""
    out = []
    for part in parts_of(request):
        blob = part.get("inlineData") or part.get("inline_data")
        if blob:
            data = blob["data"]
            out.append(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    return out


async def picture(settings: Settings, prompt: str = "draw", **kw: Any) -> images.ImageResult:
    """One generate_picture call with a real client, closed afterwards."""
    client = images.make_client(settings)
    assert client is not None
    try:
        return await images.generate_picture(
            client, settings.gemini_image_model, prompt, **{**FAST, **kw}
        )
    finally:
        await client.aio.aclose()


async def test_success_resizes_to_256_and_asks_for_an_image(
    fake_gemini: FakeGemini, gemini_settings: Settings
) -> None:
    """A 1024×1024 answer is stored as ≤256×256 WebP; the request asks for IMAGE output."""
    result = await picture(gemini_settings, "a cute fern")
    assert result.outcome is Outcome.GENERATED and result.picture is not None
    with Image.open(io.BytesIO(result.picture.data)) as img:
        assert img.format == "WEBP" and max(img.size) <= 256
    assert result.picture.mime_type == "image/webp"
    (request,) = fake_gemini.requests
    assert request["generationConfig"]["responseModalities"] == ["IMAGE"]
    assert fake_gemini.paths == ["/v1beta/models/gemini-2.5-flash-image:generateContent"]
    assert parts_of(request)[0]["text"] == "a cute fern"


async def test_429_then_success_backs_off_and_retries(
    fake_gemini: FakeGemini, gemini_settings: Settings
) -> None:
    """A rate limit costs one backoff sleep, then the picture arrives."""
    fake_gemini.script = [429]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    result = await picture(gemini_settings, sleep=sleep, backoff=1.0)
    assert result.outcome is Outcome.GENERATED
    assert len(fake_gemini.requests) == 2
    assert len(slept) == 1 and 1.0 <= slept[0] <= 1.25


async def test_three_500s_give_up_with_exponential_backoff(
    fake_gemini: FakeGemini, gemini_settings: Settings
) -> None:
    """Three server errors: three attempts, backoff doubling, then FAILED (no exception)."""
    fake_gemini.script = [500, 503, 500]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    result = await picture(gemini_settings, sleep=sleep, backoff=1.0)
    assert result.outcome is Outcome.FAILED and "500" in result.detail
    assert len(fake_gemini.requests) == 3
    assert len(slept) == 2 and slept[1] > slept[0] * 1.5


async def test_timeouts_are_retried(fake_gemini: FakeGemini, gemini_settings: Settings) -> None:
    """A hung request times out and the next attempt succeeds."""
    fake_gemini.script = [("sleep", 3.0)]
    result = await picture(gemini_settings, timeout=0.5)
    assert result.outcome is Outcome.GENERATED
    assert len(fake_gemini.requests) == 2


@pytest.mark.parametrize("answer", ["safety", "prompt_blocked"])
async def test_safety_block_is_final(
    fake_gemini: FakeGemini, gemini_settings: Settings, answer: str
) -> None:
    """IMAGE_SAFETY (or a blocked prompt) is not retried."""
    fake_gemini.script = [answer]
    result = await picture(gemini_settings)
    assert result.outcome is Outcome.BLOCKED
    assert len(fake_gemini.requests) == 1


async def test_client_errors_are_not_retried(
    fake_gemini: FakeGemini, gemini_settings: Settings
) -> None:
    """A 400 (bad key, bad model) will not get better by asking again."""
    fake_gemini.script = [400]
    result = await picture(gemini_settings)
    assert result.outcome is Outcome.FAILED and len(fake_gemini.requests) == 1


def test_prompts_follow_the_seed() -> None:
    """Thriving uses the seed's sentence; variants refer to the reference character."""
    first = images.prompt_for(LOOK, "thriving")
    assert "a cute fern potted plant" in first and "a Python codebase" in first
    assert "vitality" in first and "Mochi" in first
    variant = images.prompt_for(LOOK, "dying")
    assert "same character as in the reference image" in variant and "pale" in variant


def test_shrink_rejects_garbage_and_keeps_small_images_small() -> None:
    """Not an image: ValueError. A small image is not enlarged."""
    with pytest.raises(ValueError):
        images.shrink(b"not an image")
    small = images.shrink(png_bytes((1, 2, 3), size=100))
    with Image.open(io.BytesIO(small.data)) as img:
        assert img.size == (100, 100)


def test_no_key_means_no_client(make_settings: Callable[..., Settings]) -> None:
    """Without GEMINI_API_KEY there is nothing to call."""
    assert images.make_client(make_settings()) is None


# --- the job, on the real PostgreSQL -----------------------------------------------------------


async def new_pet(maker: Maker) -> Entity:
    """A committed pet with its sprites."""
    repo = await add_repository(maker, language="Python")
    async with maker() as session, session.begin():
        return await lifecycle.create_pet(session, repo, T0)


def job_dict(settings: Settings, maker: Maker, bus: RecordingBus) -> dict[str, Any]:
    """The arq-style ctx the worker gives jobs."""
    return {"settings": settings, "sessionmaker": maker, "bus": bus, jobs.POLICY_KEY: FAST}


def job_ctx(settings: Settings, maker: Maker, bus: RecordingBus) -> JobContext:
    """That ctx as the jobs take it (`registry.as_arq` wraps it so in the worker)."""
    return JobContext(job_dict(settings, maker, bus))


async def stored(maker: Maker, entity_id: int) -> tuple[dict[str, EntityImage], Entity]:
    """The pet's picture rows by state, and the pet."""
    async with maker() as session:
        rows = (
            await session.scalars(select(EntityImage).where(EntityImage.entity_id == entity_id))
        ).all()
        entity = await session.get(Entity, entity_id)
        assert entity is not None
        return {r.state: r for r in rows}, entity


async def test_job_generates_five_states_with_the_reference(
    fake_gemini: FakeGemini, gemini_settings: Settings, pg_sessionmaker: Maker
) -> None:
    """Thriving from the prompt, four variants each carrying the stored thriving picture."""
    pet = await new_pet(pg_sessionmaker)
    bus = RecordingBus()
    outcomes = await jobs.generate_images(job_ctx(gemini_settings, pg_sessionmaker, bus), pet.id)

    assert outcomes == dict.fromkeys(rules.HEALTH_STATES, "generated")
    rows, entity = await stored(pg_sessionmaker, pet.id)
    assert {s: r.source for s, r in rows.items()} == {
        **dict.fromkeys(rules.HEALTH_STATES, "gemini"),
        "dead": "sprite",
        "sleeping": "sprite",  # asked for when the pet first hibernates, not before
    }
    thriving = rows["thriving"].data
    assert inline_images(fake_gemini.requests[0]) == []
    for request in fake_gemini.requests[1:]:
        assert inline_images(request) == [thriving]
    assert len(fake_gemini.requests) == 5
    assert len({r.content_hash for r in rows.values()}) == 7
    url = pictures.image_url(entity)
    assert url == f"/images/{rows['thriving'].content_hash}.webp"
    (event,) = bus.events
    assert event["type"] == "health_update" and event["entity_id"] == pet.id
    assert event["visual_url"].endswith(url) and event["repository_id"] == pet.repository_id
    async with pg_sessionmaker() as session:
        assert await pictures.load_image(session, rows["okay"].content_hash) == (
            "image/webp",
            rows["okay"].data,
        )


async def test_job_three_500s_keep_the_sprite(
    fake_gemini: FakeGemini, gemini_settings: Settings, pg_sessionmaker: Maker
) -> None:
    """The thriving picture fails three times: no variants asked, sprites everywhere."""
    pet = await new_pet(pg_sessionmaker)
    before, _ = await stored(pg_sessionmaker, pet.id)
    fake_gemini.script = [500, 500, 500]
    bus = RecordingBus()
    outcomes = await jobs.generate_images(job_ctx(gemini_settings, pg_sessionmaker, bus), pet.id)
    assert outcomes == {"thriving": "failed"}
    assert len(fake_gemini.requests) == 3
    rows, entity = await stored(pg_sessionmaker, pet.id)
    assert {s: (r.source, r.content_hash) for s, r in rows.items()} == {
        s: ("sprite", r.content_hash) for s, r in before.items()
    }
    assert pictures.needs_image(entity, "thriving"), "a failure may be retried later"
    assert bus.events == []


async def test_job_image_safety_keeps_the_sprite_and_is_not_asked_again(
    fake_gemini: FakeGemini, gemini_settings: Settings, pg_sessionmaker: Maker
) -> None:
    """A refusal leaves the sprite, and a later job does not ask Gemini again."""
    pet = await new_pet(pg_sessionmaker)
    fake_gemini.script = ["safety"]
    ctx = job_ctx(gemini_settings, pg_sessionmaker, RecordingBus())
    assert await jobs.generate_images(ctx, pet.id) == {"thriving": "blocked"}
    rows, entity = await stored(pg_sessionmaker, pet.id)
    assert rows["thriving"].source == "sprite"
    assert not pictures.needs_image(entity, "thriving")
    assert await jobs.generate_images(ctx, pet.id, ["healthy"]) == {}
    assert len(fake_gemini.requests) == 1


async def test_job_for_one_state_reuses_the_stored_reference(
    fake_gemini: FakeGemini, gemini_settings: Settings, pg_sessionmaker: Maker
) -> None:
    """A state shown for the first time later: one request, with the stored thriving picture."""
    pet = await new_pet(pg_sessionmaker)
    ctx = job_ctx(gemini_settings, pg_sessionmaker, RecordingBus())
    fake_gemini.script = ["ok", "safety", "safety", "safety", "safety"]
    await jobs.generate_images(ctx, pet.id)
    async with pg_sessionmaker() as session, session.begin():
        entity = await lifecycle.lock_pet(session, pet.id)
        pictures.mark_image_status(entity, "poor", "failed")
    assert await jobs.generate_images(ctx, pet.id, ["poor"]) == {"poor": "generated"}
    rows, _ = await stored(pg_sessionmaker, pet.id)
    assert inline_images(fake_gemini.requests[-1]) == [rows["thriving"].data]
    assert rows["poor"].source == "gemini" and rows["okay"].source == "sprite"


async def test_sleeping_variant_is_drawn_from_the_reference(
    fake_gemini: FakeGemini, gemini_settings: Settings, pg_sessionmaker: Maker
) -> None:
    """The first nap asks Gemini for the sleeper: the same character, asleep."""
    pet = await new_pet(pg_sessionmaker)
    ctx = job_ctx(gemini_settings, pg_sessionmaker, RecordingBus())
    await jobs.generate_images(ctx, pet.id, ["thriving"])
    rows, entity = await stored(pg_sessionmaker, pet.id)
    assert rows["sleeping"].source == "sprite" and pictures.needs_image(entity, "sleeping")
    assert await jobs.generate_images(ctx, pet.id, ["sleeping"]) == {"sleeping": "generated"}
    rows, _ = await stored(pg_sessionmaker, pet.id)
    assert rows["sleeping"].source == "gemini"
    assert inline_images(fake_gemini.requests[-1]) == [rows["thriving"].data]
    prompt = images.prompt_for(LOOK, "sleeping")
    assert "same character as in the reference image" in prompt and "asleep" in prompt


async def test_job_without_key_makes_no_call(
    fake_gemini: FakeGemini, make_settings: Callable[..., Settings], pg_sessionmaker: Maker
) -> None:
    """No key: the job returns at once and the server never hears from us."""
    pet = await new_pet(pg_sessionmaker)
    settings = make_settings(GEMINI_BASE_URL=fake_gemini.base_url)
    ctx = job_dict(settings, pg_sessionmaker, RecordingBus())
    assert await jobs.generate_images(JobContext(ctx), pet.id) == {}
    assert await jobs.request_images(JobContext({**ctx, "queue": None}), pet.id) is False
    assert fake_gemini.requests == []
