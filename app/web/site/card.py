"""README badges drawn without an emoji font: the pet's own sprite, and the `card` style.

Emoji render as empty boxes on machines without an emoji font (the default on many Linux
desktops and servers), so badges draw the species with the procedural SVG sprites instead. A
sprite is nested as an inner `<svg>`, not linked: README badges reach people through GitHub's
camo proxy as an `<img>`, where nothing external loads but inline markup always draws.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from markupsafe import Markup

from app.core.models import Entity, Repository
from app.entities import pictures, rules
from app.web.site.badges import STATE_COLOURS, UNKNOWN_COLOUR, text_width
from app.web.site.templating import standalone_env

CARD_WIDTH: Final = 240
CARD_HEIGHT: Final = 80
SPRITE_BOX: Final = (8, 8, 64)  # x, y, size of the card's sprite
BAR: Final = (82, 34, 112, 10)  # x, y, width, height of the card's health bar
TEXT_X: Final = 82
TEXT_ROOM: Final = CARD_WIDTH - TEXT_X - 8
TRACK: Final = "#eaeef2"
INK: Final = "#1f2328"
MUTED: Final = "#57606a"
FONT: Final = "Verdana,Geneva,DejaVu Sans,sans-serif"
# The sprite's own root size, replaced by the box it is drawn into.
_ROOT_SIZE: Final = re.compile(r'width="\d+" height="\d+"')


def nested_sprite(svg: str, x: float, y: float, size: float) -> str:
    """A standalone sprite document placed inside another SVG at (x, y), `size` square."""
    placed, found = _ROOT_SIZE.subn(f'x="{x}" y="{y}" width="{size}" height="{size}"', svg, count=1)
    if not found or not placed.startswith("<svg"):
        raise ValueError("not a sprite document")
    return placed


def icon_sprite(svg: str, size: int) -> str:
    """A sprite document drawn `size` pixels square inline in a page (headings, 404)."""
    sized, found = _ROOT_SIZE.subn(f'width="{size}" height="{size}"', svg, count=1)
    if not found:
        raise ValueError("not a sprite document")
    return sized


def rip_dates(born: datetime | None, died: datetime | None) -> str:
    """ "2026-03-02 – 2026-11-20": a dead pet's life, in the dates people read on a stone."""
    days = [d.date().isoformat() for d in (born, died) if d is not None]
    return " – ".join(days)


def fit(text: str, room: float, font_px: float, bold: bool = False) -> str:
    """Cut text to the width it may take, with an ellipsis, so nothing spills off the card.

    `text_width` measures Verdana at 11 px; other sizes and bold scale from it.
    """
    scale = font_px / 11 * (1.1 if bold else 1.0)
    if text_width(text) * scale <= room:
        return text
    while text and text_width(text + "…") * scale > room:
        text = text[:-1]
    return text.rstrip() + "…"


@dataclass(frozen=True, slots=True)
class CardLook:
    """What the card shows; `rip` holds the dates of a dead pet, `sprite` its picture."""

    name: str
    repository: str
    health: int
    word: str
    colour: str
    state: str
    sprite: str = ""
    rip: str | None = None

    @property
    def title(self) -> str:
        """The accessible name: everything the card says, in one sentence."""
        if self.rip is not None:
            return f"{self.name}, the Tamagitto pet of {self.repository}: RIP {self.rip}".strip()
        if not self.sprite:
            return f"tamagitto: {self.word}"
        pet = f"{self.name}, the Tamagitto pet of {self.repository}"
        return f"{pet}: {self.health}/100, {self.word}"


def _bar(look: CardLook) -> dict[str, float] | None:
    """The health bar's box and how far it is filled, for a living pet's card."""
    if look.rip is not None or not look.sprite:
        return None
    x, y, width, height = BAR
    filled = round(width * max(0, min(100, look.health)) / 100, 1)
    return {"x": x, "y": y, "width": width, "height": height, "filled": filled}


def card_svg(look: CardLook) -> str:
    """A 240 × 80 card: sprite on the left; name, health bar and number, repository."""
    x, y, size = SPRITE_BOX
    sprite = Markup(nested_sprite(look.sprite, x, y, size)) if look.sprite else ""
    return (
        standalone_env()
        .get_template("badges/card.svg")
        .render(
            width=CARD_WIDTH,
            height=CARD_HEIGHT,
            title=look.title,
            state=look.state,
            sprite=sprite,
            font=FONT,
            text_x=TEXT_X,
            ink=INK,
            muted=MUTED,
            track=TRACK,
            colour=look.colour,
            name=fit(look.name, TEXT_ROOM, 14, True),
            rip=None if look.rip is None else fit(look.rip, TEXT_ROOM, 10),
            bar=_bar(look),
            health=str(look.health),
            word=look.word,
            repository=fit(look.repository, TEXT_ROOM, 10),
        )
    )


NOT_FOUND: Final = CardLook("tamagitto", "", 0, "not found", UNKNOWN_COLOUR, "unknown")


def card_look(repository: Repository | None, entity: Entity | None) -> CardLook:
    """The card of a public pet: its sprite for its state (sleeping and dead included), or
    the same "not found" card for private and unknown repositories alike."""
    if repository is None or entity is None:
        return NOT_FOUND
    visual = pictures.visual_state(entity)
    sprite = pictures.sprite_for(entity, visual).data.decode()
    name, repo = entity.name, repository.full_name
    if entity.status == rules.DEAD:
        rip = rip_dates(entity.born_at, entity.died_at)
        colour = STATE_COLOURS[rules.DEAD_VISUAL]
        return CardLook(name, repo, 0, "dead", colour, visual, sprite, rip)
    state = rules.health_state(entity.health)
    return CardLook(name, repo, entity.health, state, STATE_COLOURS[state], visual, sprite)


__all__ = [
    "CARD_HEIGHT",
    "CARD_WIDTH",
    "NOT_FOUND",
    "STATE_COLOURS",
    "CardLook",
    "card_look",
    "card_svg",
    "fit",
    "icon_sprite",
    "nested_sprite",
    "rip_dates",
]
