"""Badges as headless Chromium draws them: screenshots, then pixels for the sprite and the bar.

Against the real `tamagitto serve` of the site's browser tests (embedded_site). No emoji font is
needed: what is checked is drawn by the sprite code, in colours the code chose.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.entities import rules
from app.entities.sprites import STATE_BACKGROUND
from app.web.site import badges
from app.web.site.card import BAR, SPRITE_BOX, TRACK
from tests.site.seed import STATE_HEALTH, Seeded
from tests.site.serve import NODE_TIMEOUT, ROOT

RUNNER = Path(__file__).resolve().parent / "browser" / "badges.mjs"
TOMBSTONE = "#a7adb5"
Pixel = tuple[int, int, int]


def rgb(colour: str) -> Pixel:
    value = colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def near(pixel: Pixel, colour: str, tolerance: int = 30) -> bool:
    return sum(abs(a - b) for a, b in zip(pixel, rgb(colour), strict=True)) <= tolerance


@pytest.fixture(scope="module")
def shots(embedded_site: tuple[str, Seeded], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every badge screenshotted once: path -> (image, scale)."""
    base, _ = embedded_site
    paths = [f"/badge/demo/{s}.svg?style=card" for s in STATE_HEALTH]
    paths += [f"/badge/demo/{s}.svg" for s in STATE_HEALTH]
    paths += ["/badge/demo/dead.svg?style=card", "/badge/demo/dead.svg"]
    out = tmp_path_factory.mktemp("badges")
    proc = subprocess.run(
        ["node", str(RUNNER), base, str(out), *paths],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    shots = {}
    for badge in result["badges"]:
        assert badge["status"] == 200 and badge["errors"] == [], badge
        shots[badge["path"]] = (Image.open(badge["file"]).convert("RGB"), result["scale"])
    return shots


def pixels(image: Image.Image, scale: int, box: tuple[float, float, float, float]) -> list[Pixel]:
    """The pixels of a box given in SVG units (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = (round(v * scale) for v in box)
    return [image.getpixel((x, y)) for x in range(x0, x1) for y in range(y0, y1)]  # type: ignore[misc]


def share(found: list[Pixel], colour: str) -> float:
    return sum(near(p, colour) for p in found) / len(found)


@pytest.mark.parametrize("state", list(STATE_HEALTH))
def test_card_draws_the_sprite_and_the_bar(shots: Any, state: str) -> None:
    image, scale = shots[f"/badge/demo/{state}.svg?style=card"]
    assert image.size == (240 * scale, 80 * scale)
    x, y, size = SPRITE_BOX
    sprite = pixels(image, scale, (x, y, x + size, y + size))
    assert share(sprite, STATE_BACKGROUND[state]) > 0.25  # the sprite's own backdrop
    drawn = [p for p in sprite if not near(p, STATE_BACKGROUND[state]) and not near(p, "#ffffff")]
    assert len(drawn) / len(sprite) > 0.15  # and a body drawn on it
    bx, by, width, height = BAR
    row = round((by + height / 2) * scale)
    coloured = [
        px / scale
        for px in range(round(bx * scale), round((bx + width) * scale))
        if near(image.getpixel((px, row)), badges.STATE_COLOURS[state])  # type: ignore[arg-type]
    ]
    health = STATE_HEALTH[state]
    assert coloured, "no bar in the state's colour"
    assert max(coloured) == pytest.approx(bx + width * health / 100, abs=3)
    after = round((bx + width * health / 100 + 4) * scale)
    assert near(image.getpixel((after, row)), TRACK)  # type: ignore[arg-type]


def test_dead_card_draws_the_tombstone_and_no_bar(shots: Any) -> None:
    image, scale = shots["/badge/demo/dead.svg?style=card"]
    x, y, size = SPRITE_BOX
    assert share(pixels(image, scale, (x, y, x + size, y + size)), TOMBSTONE) > 0.1
    bx, by, width, height = BAR
    track = pixels(image, scale, (bx + width / 2, by, bx + width, by + height))
    assert share(track, TRACK) < 0.05
    rip = pixels(image, scale, (bx, 34, bx + 30, 47))
    assert share(rip, "#57606a") > 0.05  # "RIP" is written where the bar was


@pytest.mark.parametrize("state", [*STATE_HEALTH, rules.DEAD_VISUAL])
def test_flat_badge_draws_the_sprite(shots: Any, state: str) -> None:
    name = "dead" if state == rules.DEAD_VISUAL else state
    image, scale = shots[f"/badge/demo/{name}.svg"]
    icon = pixels(image, scale, (3, 3, 17, 17))
    backdrop = TOMBSTONE if state == rules.DEAD_VISUAL else STATE_BACKGROUND[state]
    assert share(icon, backdrop) > 0.1
    width = image.size[0] / scale
    message = pixels(image, scale, (width - 12, 2, width - 4, 18))
    assert share(message, badges.STATE_COLOURS[state]) > 0.5
