"""Gemini pictures of a pet, one per health state, with the sprite as the fallback for everything.

The thriving picture comes from a text prompt; the four others are asked for with the thriving
picture attached as a reference `Part`, so the character stays the same across states. Calls go
through google-genai's async client (its own retries turned off: we retry 429, 5xx and timeouts
three times with exponential backoff here, where tests can see it). A blocked result
(`IMAGE_SAFETY` and the like) is final and a final failure is only logged: the sprite stays.
Nothing in this module touches the database.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import io
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from PIL import Image, UnidentifiedImageError

from app.core.config import Settings
from app.entities.rules import (
    HEALTH_STATES,
    HEALTHY,
    OKAY,
    POOR,
    SLEEPING_VISUAL,
    STATE_DYING,
    THRIVING,
)
from app.entities.species import BLOB, GOLEM, PET, PLANT, ROBOT

log = logging.getLogger(__name__)

ATTEMPTS: Final = 3
BACKOFF_SECONDS: Final = 1.0
REQUEST_TIMEOUT_SECONDS: Final = 90.0
RETRYABLE_STATUS: Final = frozenset({408, 429, 500, 502, 503, 504})
MAX_SIDE: Final = 256
# Refuse to decode anything bigger: a 4K PNG is ~30 MB, real Gemini output is far smaller.
MAX_INPUT_BYTES: Final = 20 * 1024 * 1024
MAX_INPUT_PIXELS: Final = 4096 * 4096
OUTPUT_FORMAT: Final = "WEBP"
OUTPUT_MIME: Final = "image/webp"
OUTPUT_QUALITY: Final = 88

# Finish or block reasons that mean "the model won't draw this": retrying will not help.
BLOCKED_REASONS: Final = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
        "JAILBREAK",
    }
)

CREATURE: Final[dict[str, str]] = {
    PET: "digital pet",
    PLANT: "potted plant with a friendly face",
    ROBOT: "little robot",
    GOLEM: "small stone golem",
    BLOB: "adaptable blob creature",
}
VITALITY: Final[dict[str, str]] = {
    THRIVING: "full, radiant",
    HEALTHY: "good",
    OKAY: "moderate",
    POOR: "low",
    STATE_DYING: "almost no",
    SLEEPING_VISUAL: "calm, resting",
}
MOOD: Final[dict[str, str]] = {
    HEALTHY: "content and cheerful, colours slightly softer than in the reference",
    OKAY: "neutral and a little tired, colours a bit muted",
    POOR: "sad and unwell, drooping posture, faded colours, a small sweat drop",
    STATE_DYING: "very sick and weak, pale washed-out colours, eyes half closed, a bandage",
    SLEEPING_VISUAL: (
        "peacefully asleep and hibernating, curled up with eyes closed, a tiny nightcap, "
        "soft moonlit night colours, a few small floating sleep bubbles"
    ),
}
# States drawn from the thriving reference: the other health states, and the sleeper.
VARIANTS: Final = (*HEALTH_STATES, SLEEPING_VISUAL)
STYLE: Final = (
    "Cute kawaii sticker illustration, one character centred, full body, soft shading, "
    "plain light background, no text, no letters, no watermark."
)


class Outcome(enum.StrEnum):
    """How one picture request ended."""

    GENERATED = "generated"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Picture:
    """Bytes ready to store and serve."""

    mime_type: str
    data: bytes

    @property
    def content_hash(self) -> str:
        """sha256 of the bytes: the versioned URL and the ETag."""
        return content_hash(self.data)


@dataclass(frozen=True, slots=True)
class ImageResult:
    """One state's result; `picture` only when generated."""

    outcome: Outcome
    picture: Picture | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PetLook:
    """What the prompt needs to know about the pet."""

    species: str
    subspecies: str | None
    language: str | None
    name: str


class BlockedImage(Exception):
    """The model refused (safety and the like); final, not retried."""


class NoImage(Exception):
    """A well-formed answer without an image part; retried like a transient error."""


Sleep = Callable[[float], Awaitable[None]]


def content_hash(data: bytes) -> str:
    """The hash used in image URLs and ETags."""
    return hashlib.sha256(data).hexdigest()


def creature(look: PetLook) -> str:
    """ "cat digital pet", "fern potted plant with a friendly face", "little robot"."""
    base = CREATURE.get(look.species, CREATURE[BLOB])
    if look.subspecies and look.subspecies not in base and look.species in (PET, PLANT):
        return f"{look.subspecies} {base}"
    return base


def prompt_for(look: PetLook, state: str) -> str:
    """The seed's prompt for thriving; variants ask for the reference character in a new mood."""
    language = look.language or "polyglot"
    if state == THRIVING:
        return (
            f"Generate a cute {creature(look)} representing a {language} codebase with "
            f"{VITALITY[THRIVING]} vitality. Its name is {look.name}. It looks happy, bright "
            f"and energetic. {STYLE}"
        )
    return (
        f"This is {look.name}, a cute {creature(look)} representing a {language} codebase. "
        f"Draw exactly the same character as in the reference image (same shape, colours, "
        f"features and style), now with {VITALITY[state]} vitality: {MOOD[state]}. {STYLE}"
    )


def make_client(settings: Settings) -> genai.Client | None:
    """A Gemini client, or None without a key (then no call is ever made)."""
    key = settings.gemini_key
    if not key:
        return None
    options = types.HttpOptions(
        base_url=settings.gemini_base_url,
        timeout=int(REQUEST_TIMEOUT_SECONDS * 1000),
        # One attempt per call: the retry policy lives in `generate_picture`.
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(api_key=key, http_options=options)


def log_startup(settings: Settings) -> None:
    """The one start-up line saying which pictures pets will get."""
    if settings.gemini_key:
        log.info("pet images: Gemini model %s", settings.gemini_image_model)
    else:
        log.info("pet images: no GEMINI_API_KEY, every pet uses its procedural sprite")


def _reason(value: Any) -> str:
    """Enum or string finish/block reason as its plain name."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def extract_image(response: types.GenerateContentResponse) -> tuple[bytes, str]:
    """The first inline image of the answer; raise BlockedImage or NoImage otherwise."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise BlockedImage(f"prompt blocked: {_reason(feedback.block_reason)}")
    for candidate in response.candidates or []:
        parts = candidate.content.parts if candidate.content else None
        for part in parts or []:
            blob = part.inline_data
            if blob is not None and blob.data and (blob.mime_type or "").startswith("image/"):
                return blob.data, blob.mime_type or "image/png"
        reason = _reason(candidate.finish_reason)
        if reason in BLOCKED_REASONS:
            raise BlockedImage(f"finish reason {reason}")
    raise NoImage("the answer held no image")


def shrink(data: bytes) -> Picture:
    """Decode, fit inside 256×256 and re-encode; rejects anything that isn't a sane image."""
    if len(data) > MAX_INPUT_BYTES:
        raise ValueError(f"image too large ({len(data)} bytes)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_INPUT_PIXELS:
                raise ValueError(f"image too large ({img.width}x{img.height})")
            img.load()
            mode = "RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB"
            out = img.convert(mode)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a decodable image: {exc}") from None
    out.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    out.save(buffer, OUTPUT_FORMAT, quality=OUTPUT_QUALITY, method=4)
    return Picture(OUTPUT_MIME, buffer.getvalue())


def _retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts, dropped connections and empty answers are worth another try."""
    if isinstance(exc, genai_errors.APIError):
        return exc.code in RETRYABLE_STATUS
    return isinstance(exc, TimeoutError | aiohttp.ClientError | NoImage)


async def _call(
    client: genai.Client, model: str, contents: list[Any], timeout: float
) -> types.GenerateContentResponse:
    """One request, bounded by our own timeout as well as the SDK's."""
    config = types.GenerateContentConfig(response_modalities=["IMAGE"])
    async with asyncio.timeout(timeout):
        return await client.aio.models.generate_content(
            model=model, contents=contents, config=config
        )


def _contents(prompt: str, reference: Picture | None) -> list[Any]:
    """The prompt, with the reference picture first when there is one."""
    if reference is None:
        return [prompt]
    return [types.Part.from_bytes(data=reference.data, mime_type=reference.mime_type), prompt]


def backoff_delay(attempt: int, base: float) -> float:
    """Exponential backoff with jitter: ~base, ~2·base, ~4·base …"""
    return float(base * (2**attempt) * (1 + random.random() * 0.25))


async def generate_picture(
    client: genai.Client,
    model: str,
    prompt: str,
    reference: Picture | None = None,
    *,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF_SECONDS,
    timeout: float = REQUEST_TIMEOUT_SECONDS,
    sleep: Sleep = asyncio.sleep,
) -> ImageResult:
    """Ask for one picture; never raises. Blocked is final, transient errors are retried."""
    contents = _contents(prompt, reference)
    detail = ""
    for attempt in range(attempts):
        try:
            data, _mime = extract_image(await _call(client, model, contents, timeout))
            return ImageResult(Outcome.GENERATED, shrink(data))
        except BlockedImage as exc:
            log.warning("gemini refused the picture: %s", exc)
            return ImageResult(Outcome.BLOCKED, detail=str(exc))
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            if not _retryable(exc):
                log.warning("gemini picture failed, not retrying: %s", detail)
                return ImageResult(Outcome.FAILED, detail=detail)
            log.info("gemini picture attempt %d/%d failed: %s", attempt + 1, attempts, detail)
        if attempt + 1 < attempts:
            await sleep(backoff_delay(attempt, backoff))
    log.warning("gemini picture failed after %d attempts: %s", attempts, detail)
    return ImageResult(Outcome.FAILED, detail=detail)


async def generate_states(
    client: genai.Client,
    model: str,
    look: PetLook,
    states: list[str],
    reference: Picture | None = None,
    **retry: Any,
) -> dict[str, ImageResult]:
    """Thriving first (unless a reference exists), then each variant with it as reference.

    Without a thriving picture there is nothing to keep the character consistent with, so the
    variants are not asked for at all and keep their sprites.
    """
    results: dict[str, ImageResult] = {}
    if reference is None:
        first = await generate_picture(client, model, prompt_for(look, THRIVING), **retry)
        results[THRIVING] = first
        if first.picture is None:
            return results
        reference = first.picture
    for state in states:
        if state == THRIVING or state not in VARIANTS:
            continue
        prompt = prompt_for(look, state)
        results[state] = await generate_picture(client, model, prompt, reference, **retry)
    return results


__all__ = [
    "ATTEMPTS",
    "BLOCKED_REASONS",
    "MAX_SIDE",
    "BlockedImage",
    "ImageResult",
    "NoImage",
    "Outcome",
    "PetLook",
    "Picture",
    "backoff_delay",
    "content_hash",
    "extract_image",
    "generate_picture",
    "generate_states",
    "log_startup",
    "make_client",
    "prompt_for",
    "shrink",
]
