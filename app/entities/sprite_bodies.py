"""The sprites' bodies: each species' shape, coloured by the repository's own look.

`look_for` splits a hash of the repository id (the `seed`) into hue, accent, eye style and
spacing, pattern, accessory and body wobble, so two repositories practically never share a
look. The health state drains the body's colour and bends its shape (a drooping plant, a
sagging blob, a cracked golem); `sprites.py` puts the face, the extras and the scene around it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from app.entities.rules import HEALTHY, OKAY, POOR, STATE_DYING, THRIVING
from app.entities.species import BLOB, GOLEM, PET, PLANT, ROBOT, stable_hash

# (saturation %, lightness %) of the body per state: colour drains as health drops.
STATE_TONE: Final[dict[str, tuple[int, int]]] = {
    THRIVING: (85, 58),
    HEALTHY: (70, 60),
    OKAY: (48, 62),
    POOR: (28, 64),
    STATE_DYING: (10, 74),
}
# Background tint per state: sunny, clear, neutral, overcast, sickly.
INK: Final = "#2b2b33"


@dataclass(frozen=True, slots=True)
class Look:
    """Everything that varies per repository, derived from the seed once."""

    hue: int
    accent_hue: int
    eye_style: int
    pattern: int
    accessory: int
    wobble: int
    tone: int
    eye_gap: float

    def body(self, state: str) -> str:
        """Body colour for a state: the repository's hue, drained as health drops."""
        saturation, lightness = STATE_TONE[state]
        return f"hsl({self.hue},{saturation}%,{lightness + self.tone}%)"

    def shade(self, state: str) -> str:
        """A darker tone of the body for outlines, spots and stripes."""
        saturation, lightness = STATE_TONE[state]
        return f"hsl({self.hue},{saturation}%,{max(lightness + self.tone - 22, 20)}%)"

    def accent(self, state: str) -> str:
        """The accessory colour, also drained with health."""
        saturation, _ = STATE_TONE[state]
        return f"hsl({self.accent_hue},{min(saturation + 10, 90)}%,55%)"


def look_for(seed: int) -> Look:
    """Split the repository hash into independent feature choices."""
    bits = stable_hash("sprite", seed)
    hue = bits % 360
    return Look(
        hue=hue,
        accent_hue=(hue + 120 + (bits >> 9) % 120) % 360,
        eye_style=(bits >> 17) % 3,
        pattern=(bits >> 20) % 4,
        accessory=(bits >> 23) % 4,
        wobble=(bits >> 26) % 5,
        tone=(bits >> 30) % 13 - 6,
        eye_gap=7 + ((bits >> 35) % 9) / 2,
    )


@dataclass(frozen=True, slots=True)
class Drawn:
    """A drawn body and where its face and hat go; `skin` colours the eyelids."""

    shape: str
    cx: float
    cy: float
    top: float
    skin: str
    hat: bool = True


def _pet(sub: str, look: Look, state: str) -> Drawn:
    """Cat, dog or hamster: a round body with the sub-species' ears."""
    body, shade = look.body(state), look.shade(state)
    outline = f'stroke="{shade}" stroke-width="2"'
    ears = {
        "cat": f'<path d="M38 44 L44 18 L60 38 Z M90 44 L84 18 L68 38 Z" fill="{body}" {outline}/>',
        "dog": "".join(
            f'<ellipse cx="{x}" cy="56" rx="10" ry="20" fill="{shade}"/>' for x in (34, 94)
        ),
        "hamster": "".join(
            f'<circle cx="{x}" cy="36" r="9" fill="{body}" {outline}/>' for x in (42, 86)
        ),
    }.get(sub, "")
    shape = (
        f'<ellipse cx="64" cy="70" rx="36" ry="{34 + look.wobble}" fill="{body}" '
        f'stroke="{shade}" stroke-width="2.5"/>'
    )
    return Drawn(ears + shape, 64, 62, 34, body)


def _plant_top(sub: str, look: Look, state: str) -> str:
    """Fern fronds, a flower or a succulent rosette, drooping further as health drops."""
    leaf, shade = look.body(state), look.shade(state)
    droop = {THRIVING: 0, HEALTHY: 2, OKAY: 6, POOR: 12, STATE_DYING: 18}[state]
    if sub == "fern":
        return "".join(
            f'<path d="M64 64 Q{64 + dx} {30 + droop} {64 + 2 * dx} {22 + droop * 2}" '
            f'stroke="{leaf}" stroke-width="7" fill="none" stroke-linecap="round"/>'
            for dx in (-22, -10, 0, 10, 22)
        )
    if sub == "flower":
        petals = "".join(
            f'<ellipse cx="64" cy="{24 + droop}" rx="7" ry="13" fill="{look.accent(state)}" '
            f'transform="rotate({angle} 64 {38 + droop})"/>'
            for angle in range(0, 360, 60)
        )
        return (
            f'<path d="M64 66 L64 {40 + droop}" stroke="{leaf}" stroke-width="4"/>'
            f'{petals}<circle cx="64" cy="{38 + droop}" r="7" fill="#ffd166"/>'
        )
    return "".join(
        f'<ellipse cx="64" cy="{44 + droop // 2}" rx="9" ry="22" fill="{leaf}" '
        f'stroke="{shade}" stroke-width="1.5" transform="rotate({angle} 64 64)"/>'
        for angle in (-60, -30, 0, 30, 60)
    )


def _plant(sub: str, look: Look, state: str) -> Drawn:
    """A pot with a face under the plant; the pot takes the accent colour."""
    pot = look.accent(state)
    vase = (
        f'<path d="M36 64 H92 L84 112 H44 Z" fill="{pot}" stroke="{INK}" '
        f'stroke-width="2" opacity="0.9"/>'
    )
    return Drawn(_plant_top(sub, look, state) + vase, 64, 80, 64, pot, hat=False)


def _robot(sub: str, look: Look, state: str) -> Drawn:
    """A boxy robot with an antenna, or a rounder android with ear bolts."""
    body, shade = look.body(state), look.shade(state)
    radius = 22 if sub == "android" else 6
    lamp = {THRIVING: "#4cff7a", HEALTHY: "#9be15d", OKAY: "#ffd166", POOR: "#ff9f43"}
    screen = "#f4f7fb"
    parts = (
        f'<path d="M64 34 V18" stroke="{shade}" stroke-width="3"/>'
        f'<circle cx="64" cy="16" r="5" fill="{lamp.get(state, "#ff4d4d")}"/>'
        f'<rect x="28" y="34" width="72" height="70" rx="{radius}" fill="{body}" '
        f'stroke="{shade}" stroke-width="3"/>'
        f'<rect x="38" y="46" width="52" height="36" rx="6" fill="{screen}" opacity="0.85"/>'
    )
    if sub == "android":
        parts += "".join(f'<circle cx="{x}" cy="64" r="5" fill="{shade}"/>' for x in (26, 102))
    return Drawn(parts, 64, 60, 34, screen)


def _golem(sub: str, look: Look, state: str) -> Drawn:
    """A craggy stone body; the stone creature has moss, cracks deepen with poor health."""
    body, shade = look.body(state), look.shade(state)
    jag = look.wobble
    stone = (
        f'<path d="M30 {54 - jag} L44 {30 + jag} L70 26 L94 {36 - jag} L102 70 L92 106 '
        f'L40 108 L26 84 Z" fill="{body}" stroke="{shade}" stroke-width="3" '
        f'stroke-linejoin="round"/>'
    )
    if sub == "stone creature":
        stone += f'<path d="M44 {30 + jag} q10 -6 26 -4 q-8 8 -26 4" fill="#6fbf73" opacity="0.8"/>'
    if state in (POOR, STATE_DYING):
        stone += (
            f'<path d="M80 34 l-6 14 l8 8 l-6 12" stroke="{shade}" stroke-width="2" fill="none"/>'
        )
    return Drawn(stone, 64, 64, 28, body)


def _blob(sub: str, look: Look, state: str) -> Drawn:
    """A wobbly drop whose lumps depend on the repository; it sags as health drops."""
    body, shade = look.body(state), look.shade(state)
    sag = {THRIVING: 0, HEALTHY: 3, OKAY: 6, POOR: 10, STATE_DYING: 14}[state]
    w = 4 + look.wobble * 2
    top = 26 + sag
    path = (
        f"M64 {top} C{92 + w} {top} 104 70 100 96 C96 112 32 112 28 96 "
        f"C{24 - w // 2} 70 {36 - w} {top} 64 {top} Z"
    )
    shape = f'<path d="{path}" fill="{body}" stroke="{shade}" stroke-width="2.5"/>'
    return Drawn(shape, 64, 66 + sag // 2, top + 2, body)


BODIES: Final[dict[str, Callable[[str, Look, str], Drawn]]] = {
    PET: _pet,
    PLANT: _plant,
    ROBOT: _robot,
    GOLEM: _golem,
    BLOB: _blob,
}


def draw_body(species: str, subspecies: str | None, look: Look, state: str) -> Drawn:
    """The body of a species (unknown species fall back to the blob) in a health state."""
    return BODIES.get(species, _blob)(subspecies or "", look, state)


__all__ = ["BODIES", "INK", "Drawn", "Look", "draw_body", "look_for"]
