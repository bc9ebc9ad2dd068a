"""A pet's pictures in the database: one stored row per visual state, addressed by content hash.

Every pet gets procedural sprites at birth (`sprites.py`); Gemini pictures (`images.py`) replace
them state by state. `metadata_json` indexes the current picture of each state and remembers how
Gemini fared, so a refused state is never asked again. Callers own the transaction.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Entity, EntityImage
from app.entities import rules
from app.entities.images import Outcome, Picture
from app.entities.sprites import MIME as SVG_MIME
from app.entities.sprites import sprite_svg

SOURCE_SPRITE: Final = "sprite"
SOURCE_GEMINI: Final = "gemini"
EXTENSIONS: Final[dict[str, str]] = {
    SVG_MIME: "svg",
    "image/png": "png",
    "image/webp": "webp",
    "image/jpeg": "jpg",
}
IMAGE_PATH: Final = "/images"
# metadata_json keys: the current picture per visual state, and how Gemini fared per state.
META_IMAGES: Final = "images"
META_IMAGE_STATUS: Final = "image_status"
META_SEED: Final = "seed"


def image_ext(mime_type: str) -> str:
    """File extension for the versioned URL."""
    return EXTENSIONS.get(mime_type, "bin")


def visual_state(entity: Entity) -> str:
    """thriving … dying, dead, or sleeping (as `rules.visual_state`)."""
    if entity.status == rules.DEAD:
        return rules.DEAD_VISUAL
    if entity.sleeping_since is not None:
        return rules.SLEEPING_VISUAL
    return rules.health_state(entity.health)


def _image_map(entity: Entity) -> dict[str, dict[str, str]]:
    """The per-state picture index kept in metadata_json (a copy, safe to modify)."""
    meta = entity.metadata_json or {}
    return {k: dict(v) for k, v in (meta.get(META_IMAGES) or {}).items()}


def image_url(entity: Entity, state: str | None = None, base_url: str = "") -> str:
    """Versioned URL `/images/{hash}.{ext}` of the pet's picture for a state (default: now).

    The URL changes whenever the picture does, so it can be cached for 30 days as immutable.
    A row without a stored picture still gets the URL its sprite would have (see `sprite_for`).
    """
    state = state or visual_state(entity)
    entry = _image_map(entity).get(state)
    if entry is None:
        picture = sprite_for(entity, state)
        entry = {"hash": picture.content_hash, "mime": picture.mime_type}
    return f"{base_url}{IMAGE_PATH}/{entry['hash']}.{image_ext(entry['mime'])}"


def sprite_seed(entity: Entity) -> int:
    """The repository's GitHub id, recorded at birth (falls back to the row's repository id)."""
    seed = (entity.metadata_json or {}).get(META_SEED)
    return int(seed) if seed is not None else entity.repository_id


def sprite_for(entity: Entity, state: str) -> Picture:
    """The procedural picture for one state, drawn from the repository's seed."""
    status = rules.DEAD if state == rules.DEAD_VISUAL else rules.ALIVE
    svg = sprite_svg(entity.species, entity.subspecies, state, sprite_seed(entity), status)
    return Picture(SVG_MIME, svg.encode())


def image_status(entity: Entity, state: str) -> str | None:
    """How Gemini fared for a state: generated, blocked, failed, or None if never asked."""
    status = (entity.metadata_json or {}).get(META_IMAGE_STATUS, {}).get(state)
    return None if status is None else str(status)


def needs_image(entity: Entity, state: str) -> bool:
    """Worth asking Gemini for this state: not generated yet and not refused before.

    Variants are drawn from the thriving picture, so once thriving was refused none are.
    """
    if state not in (*rules.HEALTH_STATES, rules.SLEEPING_VISUAL):
        return False
    if image_status(entity, rules.THRIVING) == Outcome.BLOCKED:
        return False
    return image_status(entity, state) not in (Outcome.GENERATED, Outcome.BLOCKED)


async def store_picture(
    session: AsyncSession, entity: Entity, state: str, picture: Picture, source: str
) -> EntityImage:
    """Insert or replace the picture for (entity, state) and point metadata at it."""
    row = await session.scalar(
        select(EntityImage).where(EntityImage.entity_id == entity.id, EntityImage.state == state)
    )
    if row is None:
        row = EntityImage(entity_id=entity.id, state=state)
        session.add(row)
    row.mime_type = picture.mime_type
    row.data = picture.data
    row.content_hash = picture.content_hash
    row.source = source
    images = _image_map(entity)
    images[state] = {"hash": picture.content_hash, "mime": picture.mime_type, "source": source}
    entity.metadata_json = {**(entity.metadata_json or {}), META_IMAGES: images}
    return row


def mark_image_status(entity: Entity, state: str, outcome: str) -> None:
    """Remember how Gemini fared for a state, so refusals are not asked again."""
    meta = dict(entity.metadata_json or {})
    statuses = dict(meta.get(META_IMAGE_STATUS) or {})
    statuses[state] = str(outcome)
    meta[META_IMAGE_STATUS] = statuses
    entity.metadata_json = meta


async def store_sprites(session: AsyncSession, entity: Entity) -> None:
    """Sprites for every state and death, so the pet has pictures from its first second."""
    for state in rules.VISUAL_STATES:
        await store_picture(session, entity, state, sprite_for(entity, state), SOURCE_SPRITE)


async def ensure_picture(session: AsyncSession, entity: Entity, state: str) -> None:
    """A stored picture for `state`: pets born before the sleeping state existed lack one,
    and `/images/{hash}` only serves stored rows."""
    if await load_picture(session, entity.id, state) is None:
        await store_picture(session, entity, state, sprite_for(entity, state), SOURCE_SPRITE)


async def load_image(session: AsyncSession, content_hash: str) -> tuple[str, bytes] | None:
    """(mime type, bytes) for a content hash, for the `/images/{hash}.{ext}` route."""
    row = (
        await session.execute(
            select(EntityImage.mime_type, EntityImage.data)
            .where(EntityImage.content_hash == content_hash)
            .limit(1)
        )
    ).first()
    return None if row is None else (row.mime_type, row.data)


async def load_picture(session: AsyncSession, entity_id: int, state: str) -> Picture | None:
    """The stored picture for one state of one pet."""
    row = (
        await session.execute(
            select(EntityImage.mime_type, EntityImage.data).where(
                EntityImage.entity_id == entity_id, EntityImage.state == state
            )
        )
    ).first()
    return None if row is None else Picture(row.mime_type, row.data)


__all__ = [
    "IMAGE_PATH",
    "META_IMAGE_STATUS",
    "META_SEED",
    "SOURCE_GEMINI",
    "SOURCE_SPRITE",
    "ensure_picture",
    "image_ext",
    "image_status",
    "image_url",
    "load_image",
    "load_picture",
    "mark_image_status",
    "needs_image",
    "sprite_for",
    "sprite_seed",
    "store_picture",
    "store_sprites",
    "visual_state",
]
