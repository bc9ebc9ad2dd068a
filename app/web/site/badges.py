"""README badges: the words and colour of a pet's badge, and the flat badge from its template."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Entity, Repository
from app.entities import pictures, rules
from app.web.site.templating import standalone_env

# Badge colours by state; white text stays readable (contrast ≥ 4.5:1) on each.
STATE_COLOURS: Final[dict[str, str]] = {
    rules.THRIVING: "#1a7f37",
    rules.HEALTHY: "#2f7d1f",
    rules.OKAY: "#8a6a00",
    rules.POOR: "#bc4c00",
    rules.STATE_DYING: "#cf222e",
    rules.DEAD_VISUAL: "#57606a",
}

UNKNOWN_COLOUR: Final = "#57606a"

# Verdana 11px advance widths (px) of common characters, as shields.io measures them.
_WIDTHS: Final[dict[str, float]] = {
    **dict.fromkeys("abcdeghnopqu", 7.0), **dict.fromkeys("fjrt", 4.3), "i": 3.1, "l": 3.1,
    **dict.fromkeys("kvxyz", 6.5), "m": 10.7, "s": 5.8, "w": 9.0,
    **dict.fromkeys("0123456789", 7.0), " ": 3.9, "·": 4.3, "|": 5.0, "-": 5.0, "–": 7.0,
}  # fmt: skip

_DEFAULT_WIDTH: Final = 7.5

_WIDE_WIDTH: Final = 14.0  # emoji and other wide symbols


def text_width(text: str) -> float:
    """Approximate rendered width of badge text; emoji count as wide."""
    width = 0.0
    for char in text:
        if char in _WIDTHS:
            width += _WIDTHS[char]
        elif ord(char) > 0x2000:
            width += 0.0 if 0xFE00 <= ord(char) <= 0xFE0F else _WIDE_WIDTH
        else:
            width += _DEFAULT_WIDTH
    return width


@dataclass(frozen=True, slots=True)
class BadgeLook:
    """What a badge says and in which colour."""

    label: str
    message: str
    colour: str
    state: str
    icon: str = ""  # the pet's sprite document, drawn on the left (no emoji font needed)


def badge_look(repository: Repository | None, entity: Entity | None) -> BadgeLook:
    """The badge's words: "72 · healthy" by the pet's sprite, "RIP" with its dates once dead,
    "not found" otherwise."""
    if repository is None or entity is None:
        return BadgeLook("tamagitto", "not found", UNKNOWN_COLOUR, "unknown")
    icon = pictures.sprite_for(entity, pictures.visual_state(entity)).data.decode()
    if entity.status == rules.DEAD:
        from app.web.site.card import rip_dates

        state = rules.DEAD_VISUAL
        message = f"RIP {rip_dates(entity.born_at, entity.died_at)}".strip()
        return BadgeLook("tamagitto", message, STATE_COLOURS[state], state, icon)
    state = rules.health_state(entity.health)
    message = f"{entity.health} · {state}"
    return BadgeLook("tamagitto", message, STATE_COLOURS[state], state, icon)


def _run(x: float, width: float, text: str) -> tuple[str, str, str]:
    """A shadowed, centred text run's position, length and words (shields' look)."""
    return f"{x:.1f}", f"{width:.1f}", text


def badge_svg(look: BadgeLook, picture: tuple[str, bytes] | None = None) -> str:
    """A shields-style flat badge; with a picture, the pet sits on the left (`?style=pet`)."""
    pad, height = 6, 20
    pic = 0 if picture is None and not look.icon else height
    left_w = text_width(look.label)
    right_w = text_width(look.message)
    left = pic + left_w + 2 * pad
    right = right_w + 2 * pad
    total = left + right
    image = Markup("")
    if picture is not None:
        data = base64.b64encode(picture[1]).decode()
        href = f"data:{picture[0]};base64,{data}"
        image = Markup('<image x="0" y="0" width="{0}" height="{0}" href="{1}"/>').format(pic, href)
    elif look.icon:
        from app.web.site.card import nested_sprite

        image = Markup(nested_sprite(look.icon, 2, 2, height - 4))
    return (
        standalone_env()
        .get_template("badges/flat.svg")
        .render(
            total=f"{total:.0f}",
            height=height,
            title=f"{look.label}: {look.message}",
            state=look.state,
            left=f"{left:.1f}",
            right=f"{right:.1f}",
            colour=look.colour,
            image=image,
            label=_run(pic + left_w / 2 + pad, left_w, look.label),
            message=_run(left + right / 2, right_w, look.message),
        )
    )


async def badge_picture(session: AsyncSession, entity: Entity) -> tuple[str, bytes]:
    """The pet's current picture (generated or sprite) for the `pet` badge style."""
    state = pictures.visual_state(entity)
    picture = await pictures.load_picture(session, entity.id, state)
    if picture is None:
        picture = pictures.sprite_for(entity, state)
    return picture.mime_type, picture.data
