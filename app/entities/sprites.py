"""Procedural SVG sprites: every pet has a picture from the moment it exists, with no network.

The palette and features come from a hash of the repository id (the `seed`): hue, accent,
lightness, eye shape and spacing, pattern, accessory and body shape give millions of
combinations per species, so two repositories practically never share a look, and the same
repository always gets the same one (the look and the bodies are in `sprite_bodies.py`). The
health state drives colour saturation, face and extras so the five states read at a glance:
bright and sparkling when thriving, pale, bandaged and sweating when dying. A dead pet is a
tombstone with its ghost floating above. A hibernating pet sleeps under a night sky with a moon
and Z's.
"""

from __future__ import annotations

from typing import Final

from app.entities.rules import (
    DEAD,
    HEALTH_STATES,
    HEALTHY,
    OKAY,
    POOR,
    SLEEPING_VISUAL,
    STATE_DYING,
    THRIVING,
)
from app.entities.sprite_bodies import INK, Look, draw_body, look_for

SIZE: Final = 256
VIEW: Final = 128
MIME: Final = "image/svg+xml"

STATE_BACKGROUND: Final[dict[str, str]] = {
    THRIVING: "#fff4c2",
    HEALTHY: "#e3f6e8",
    OKAY: "#eef0f2",
    POOR: "#e2e0dc",
    STATE_DYING: "#d9dcd4",
}


def _eyes(state: str, style: int, cx: float, cy: float, gap: float) -> str:
    """Eyes carry most of the mood: ^^ when thriving, droopy when poor, spirals when dying."""
    left, right = cx - gap, cx + gap
    if state == THRIVING:
        return "".join(
            f'<path d="M{x - 5} {cy + 2} Q{x} {cy - 6} {x + 5} {cy + 2}" '
            f'stroke="{INK}" stroke-width="2.6" fill="none" stroke-linecap="round"/>'
            for x in (left, right)
        )
    if state == STATE_DYING:  # closed, sunken eyes with dark rings: sick, not yet dead
        return "".join(
            f'<ellipse cx="{x}" cy="{cy + 1}" rx="6" ry="4.5" fill="#8a8f99" opacity="0.35"/>'
            f'<path d="M{x - 4} {cy} Q{x} {cy + 3.5} {x + 4} {cy}" stroke="{INK}" '
            f'stroke-width="2" fill="none" stroke-linecap="round"/>'
            for x in (left, right)
        )
    radius = (4.2, 3.4, 5.0)[style]
    out = []
    for x in (left, right):
        out.append(f'<circle cx="{x}" cy="{cy}" r="{radius}" fill="{INK}"/>')
        out.append(f'<circle cx="{x + 1.3}" cy="{cy - 1.4}" r="1.2" fill="#fff"/>')
        if state == POOR:  # heavy eyelids
            out.append(
                f'<rect x="{x - radius - 1}" y="{cy - radius - 1}" width="{2 * radius + 2}" '
                f'height="{radius + 1}" fill="currentColor"/>'
            )
    return "".join(out)


def _mouth(state: str, cx: float, cy: float) -> str:
    """Big open smile, smile, flat line, frown, wobbly line."""
    stroke = f'stroke="{INK}" stroke-width="2.4" fill="none" stroke-linecap="round"'
    if state == THRIVING:
        return (
            f'<path d="M{cx - 8} {cy - 1} Q{cx} {cy + 11} {cx + 8} {cy - 1} Z" fill="{INK}"/>'
            f'<path d="M{cx - 4} {cy + 4} Q{cx} {cy + 8} {cx + 4} {cy + 4}" fill="#ff7a8a"/>'
        )
    if state == HEALTHY:
        return f'<path d="M{cx - 7} {cy} Q{cx} {cy + 7} {cx + 7} {cy}" {stroke}/>'
    if state == OKAY:
        return f'<path d="M{cx - 6} {cy + 2} L{cx + 6} {cy + 2}" {stroke}/>'
    if state == POOR:
        return f'<path d="M{cx - 7} {cy + 5} Q{cx} {cy - 2} {cx + 7} {cy + 5}" {stroke}/>'
    wavy = stroke.replace('stroke-width="2.4"', 'stroke-width="1.8"')
    return f'<path d="M{cx - 8} {cy + 3} q2 -3 4 0 t4 0 t4 0 t4 0" {wavy}/>'


def face(state: str, look: Look, cx: float, cy: float, body: str) -> str:
    """Eyes, mouth and cheeks, centred on (cx, cy); `body` paints the eyelids."""
    cheeks = ""
    if state in (THRIVING, HEALTHY):
        cheeks = "".join(
            f'<ellipse cx="{x}" cy="{cy + 5}" rx="4" ry="2.5" fill="#ff8fa3" opacity="0.6"/>'
            for x in (cx - 15, cx + 15)
        )
    eyes = _eyes(state, look.eye_style, cx, cy, look.eye_gap)
    return f'<g color="{body}">{eyes}</g>{cheeks}{_mouth(state, cx, cy + 9)}'


def _pattern(look: Look, state: str, cx: float, cy: float) -> str:
    """Spots or stripes on the body, so same-coloured pets still differ."""
    shade = look.shade(state)
    if look.pattern == 1:
        return "".join(
            f'<circle cx="{cx + dx}" cy="{cy + dy}" r="3" fill="{shade}" opacity="0.45"/>'
            for dx, dy in ((-16, 14), (14, 18), (-4, 24), (20, 4))
        )
    if look.pattern == 2:
        return "".join(
            f'<path d="M{cx + dx} {cy + 8} l3 10" stroke="{shade}" stroke-width="2.5" '
            f'opacity="0.45" stroke-linecap="round"/>'
            for dx in (-14, -6, 6, 14)
        )
    return ""


def _accessory(look: Look, state: str, cx: float, top: float) -> str:
    """A bow, a party hat or a tiny crown on top; none for a quarter of repositories."""
    colour = look.accent(state)
    if look.accessory == 1:
        return (
            f'<path d="M{cx} {top + 2} l-9 -6 v12 z M{cx} {top + 2} l9 -6 v12 z" fill="{colour}"/>'
            f'<circle cx="{cx}" cy="{top + 2}" r="2.5" fill="{colour}"/>'
        )
    if look.accessory == 2:
        return (
            f'<path d="M{cx - 7} {top + 3} L{cx} {top - 14} L{cx + 7} {top + 3} Z" '
            f'fill="{colour}"/>'
        )
    if look.accessory == 3:
        return f'<path d="M{cx - 8} {top + 2} l0 -8 l4 4 l4 -6 l4 6 l4 -4 l0 8 z" fill="{colour}"/>'
    return ""


def _extras(state: str) -> str:
    """Sparkles when thriving; a sweat drop when poor; bandage and thermometer when dying."""
    if state == THRIVING:
        star = "M0 -6 L1.6 -1.6 L6 0 L1.6 1.6 L0 6 L-1.6 1.6 L-6 0 L-1.6 -1.6 Z"
        return "".join(
            f'<path d="{star}" fill="#ffc83d" transform="translate({x} {y}) scale({s})"/>'
            for x, y, s in ((16, 22, 1.2), (112, 30, 1.0), (108, 104, 0.8), (20, 100, 0.7))
        )
    if state == POOR:
        return '<path d="M98 40 q-5 8 0 10 q5 -2 0 -10" fill="#7cc6ff" stroke="#3a8fd6"/>'
    if state == STATE_DYING:
        return (
            '<rect x="76" y="28" width="22" height="8" rx="3" fill="#f7f1e1" stroke="#c9b98f" '
            'transform="rotate(25 87 32)"/>'
            '<rect x="104" y="58" width="6" height="30" rx="3" fill="#fff" stroke="#999"/>'
            '<circle cx="107" cy="88" r="5" fill="#e84a4a"/>'
        )
    return ""


def _svg(content: str, background: str, label: str) -> str:
    """Wrap drawing in a standalone SVG document with an accessible title."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {VIEW} {VIEW}" role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<rect width="{VIEW}" height="{VIEW}" rx="20" fill="{background}"/>'
        f"{content}</svg>"
    )


def _ghost(look: Look) -> str:
    """The pet's ghost: its own hue, washed out and translucent, floating above the stone."""
    return (
        f'<g opacity="0.7"><path d="M64 10 C80 10 86 22 86 34 V52 l-5 -4 l-5 4 l-6 -4 l-6 4 '
        f'l-6 -4 l-6 4 l-5 -4 l-5 4 V34 C42 22 48 10 64 10 Z" fill="hsl({look.hue},40%,94%)" '
        f'stroke="hsl({look.hue},30%,70%)" stroke-width="1.5"/>'
        f'<circle cx="57" cy="30" r="3" fill="{INK}"/><circle cx="71" cy="30" r="3" fill="{INK}"/>'
        f'<ellipse cx="64" cy="40" rx="3" ry="4" fill="{INK}"/></g>'
    )


def tombstone_svg(seed: int, label: str) -> str:
    """A dead pet: grey tombstone with RIP, flowers in the repository's accent, and its ghost."""
    look = look_for(seed)
    flower = f"hsl({look.accent_hue},60%,62%)"
    stone = (
        '<path d="M36 118 V66 C36 44 92 44 92 66 V118 Z" fill="#a7adb5" stroke="#6c727a" '
        'stroke-width="3"/>'
        '<text x="64" y="86" font-family="Georgia, serif" font-size="15" font-weight="bold" '
        'text-anchor="middle" fill="#4a4f57">RIP</text>'
        '<path d="M44 100 H84" stroke="#6c727a" stroke-width="2" opacity="0.6"/>'
        '<rect x="22" y="116" width="84" height="6" rx="3" fill="#7a9a5c"/>'
    )
    flowers = "".join(
        f'<circle cx="{x}" cy="114" r="4" fill="{flower}"/><circle cx="{x}" cy="114" r="1.5" '
        f'fill="#ffd166"/>'
        for x in (30, 98, 104)
    )
    return _svg(_ghost(look) + stone + flowers, "#cfd4dc", label)


SLEEP_BACKGROUND: Final = "#2f3b66"  # night blue: asleep reads at a glance, even tiny


def _sleeping_face(look: Look, cx: float, cy: float) -> str:
    """Closed, relaxed eyes (upturned arcs, not the sunken ones of dying) and a small 'o'."""
    stroke = f'stroke="{INK}" stroke-width="2.4" fill="none" stroke-linecap="round"'
    eyes = "".join(
        f'<path d="M{x - 5} {cy} Q{x} {cy + 4.5} {x + 5} {cy}" {stroke}/>'
        for x in (cx - look.eye_gap, cx + look.eye_gap)
    )
    return f'{eyes}<ellipse cx="{cx}" cy="{cy + 11}" rx="2.6" ry="2" fill="{INK}"/>'


def _night() -> str:
    """A crescent moon and three Z's drawn as paths, so no font is needed to read them."""
    moon = (
        '<circle cx="22" cy="22" r="11" fill="#ffe9a8"/>'
        f'<circle cx="28" cy="18" r="10" fill="{SLEEP_BACKGROUND}"/>'
    )
    zs = "".join(
        f'<path d="M{x} {y} h{w} l-{w} {w} h{w}" stroke="#dfe6ff" stroke-width="2.2" '
        f'fill="none" stroke-linejoin="round" stroke-linecap="round"/>'
        for x, y, w in ((92, 34, 6), (102, 22, 8), (112, 8, 10))
    )
    return moon + zs


def sleeping_svg(species: str, subspecies: str | None, seed: int) -> str:
    """A hibernating pet: its healthy body and markings, eyes shut, under a night sky."""
    look = look_for(seed)
    drawn = draw_body(species, subspecies, look, HEALTHY)
    content = (
        drawn.shape
        + _pattern(look, HEALTHY, drawn.cx, drawn.cy)
        + _sleeping_face(look, drawn.cx, drawn.cy)
        + (_accessory(look, HEALTHY, drawn.cx, drawn.top) if drawn.hat else "")
        + _night()
    )
    return _svg(content, SLEEP_BACKGROUND, f"{subspecies or species}, {SLEEPING_VISUAL}")


def sprite_svg(species: str, subspecies: str | None, state: str, seed: int, status: str) -> str:
    """The sprite for one species, health state and repository; a tombstone once dead.

    `seed` is the repository id (any stable int). Unknown species fall back to the blob and
    unknown states to okay, so a bad row never leaves a pet without a picture.
    """
    if status == DEAD or state == DEAD:
        return tombstone_svg(seed, f"{subspecies or species}, resting in peace")
    if state == SLEEPING_VISUAL:
        return sleeping_svg(species, subspecies, seed)
    state = state if state in HEALTH_STATES else OKAY
    look = look_for(seed)
    drawn = draw_body(species, subspecies, look, state)
    content = (
        drawn.shape
        + _pattern(look, state, drawn.cx, drawn.cy)
        + face(state, look, drawn.cx, drawn.cy, drawn.skin)
        + (_accessory(look, state, drawn.cx, drawn.top) if drawn.hat else "")
        + _extras(state)
    )
    return _svg(content, STATE_BACKGROUND[state], f"{subspecies or species}, {state}")


__all__ = [
    "MIME",
    "SIZE",
    "STATE_BACKGROUND",
    "sleeping_svg",
    "sprite_svg",
    "tombstone_svg",
]
