"""README badges: valid SVG, the right number, word and colour per state, ETag and 304."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from sqlalchemy import update

from app.core.models import Entity
from app.entities import rules
from app.infra.runtime import RUNTIME
from app.web.site import badges
from app.web.site import pet as site_pet
from tests.site.seed import MAIN, PRIVATE, STATE_HEALTH, Seeded

SVG_NS = "{http://www.w3.org/2000/svg}"


def parse_badge(body: bytes) -> ET.Element:
    """The badge as XML (fails on anything that isn't well-formed SVG)."""
    root = ET.fromstring(body)
    assert root.tag == f"{SVG_NS}svg"
    return root


def message_fill(root: ET.Element) -> str:
    """The colour of the badge's right-hand (message) part."""
    rects = [r for r in root.iter(f"{SVG_NS}rect") if r.get("x") and r.get("fill", "") != "#fff"]
    assert rects, "no message rectangle"
    return rects[0].get("fill", "")


def texts(root: ET.Element) -> list[str]:
    """Every text run."""
    return [t.text or "" for t in root.iter(f"{SVG_NS}text")]


@pytest.mark.parametrize("state", list(STATE_HEALTH))
async def test_badge_per_state(site_client: Any, state: str) -> None:
    resp = await site_client.get(f"/badge/demo/{state}.svg")
    assert resp.status == 200
    assert resp.content_type == "image/svg+xml"
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    root = parse_badge(await resp.read())
    health = STATE_HEALTH[state]
    message = [t for t in texts(root) if "·" in t]
    assert message and message[0] == f"{health} · {state}"
    assert not emoji_in(await resp.text())
    assert texts(root)[0] == "tamagitto"
    assert message_fill(root) == badges.STATE_COLOURS[state]
    assert root.get("aria-label") == f"tamagitto: {message[0]}"
    assert root.findtext(f"{SVG_NS}title") == f"tamagitto: {message[0]}"


def test_state_colours_differ() -> None:
    """Colour still helps: every state has its own (the word is always there too)."""
    colours = [badges.STATE_COLOURS[s] for s in (*rules.HEALTH_STATES, rules.DEAD_VISUAL)]
    assert len(set(colours)) == len(colours)


def emoji_in(text: str) -> list[str]:
    """Characters that need an emoji font (pictographs, symbols, variation selectors)."""
    return [c for c in text if ord(c) >= 0x1F000 or 0x2600 <= ord(c) <= 0x27BF or c == "\ufe0f"]


def sprites_in(root: ET.Element) -> list[ET.Element]:
    """The pet sprites nested in a badge (inner <svg> documents)."""
    return [el for el in root.iter(f"{SVG_NS}svg") if el is not root]


async def test_badge_of_the_main_pet_shows_its_sprite_and_health(site_client: Any) -> None:
    resp = await site_client.get(f"/badge/{MAIN}.svg")
    root = parse_badge(await resp.read())
    assert texts(root)[-1] == "72 · healthy"
    (sprite,) = sprites_in(root)  # the seeded JavaScript repo drew a dog, drawn not typed
    assert sprite.get("aria-label") == "dog, healthy"
    assert (sprite.get("width"), sprite.get("height")) == ("16", "16")
    assert not emoji_in(await resp.text())


async def dates_of(site_client: Any, full_name: str) -> str:
    """The born and died dates of a seeded pet, as a badge writes them."""
    async with site_client.app[RUNTIME].sessionmaker() as session:
        found = await site_pet.public_pet(session, full_name)
    assert found is not None
    entity = found[1]
    assert entity.died_at is not None
    return f"{entity.born_at.date().isoformat()} – {entity.died_at.date().isoformat()}"


async def test_dead_pet_badge(site_client: Any) -> None:
    resp = await site_client.get("/badge/demo/dead.svg")
    root = parse_badge(await resp.read())
    assert texts(root)[-1] == f"RIP {await dates_of(site_client, 'demo/dead')}"
    assert message_fill(root) == badges.STATE_COLOURS[rules.DEAD_VISUAL]
    (sprite,) = sprites_in(root)
    assert "resting in peace" in (sprite.get("aria-label") or "")
    assert not emoji_in(await resp.text())


async def test_etag_and_304(site_client: Any, seeded: Seeded) -> None:
    first = await site_client.get(f"/badge/{MAIN}.svg")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    same = await site_client.get(f"/badge/{MAIN}.svg", headers={"If-None-Match": etag})
    assert same.status == 304
    assert await same.read() == b""
    assert same.headers["ETag"] == etag
    assert same.headers["Cache-Control"] == "public, max-age=300"
    weak = await site_client.get(f"/badge/{MAIN}.svg", headers={"If-None-Match": f"W/{etag}"})
    assert weak.status == 304
    other = await site_client.get(f"/badge/{MAIN}.svg", headers={"If-None-Match": '"nope"'})
    assert other.status == 200
    # the pet changes: the old ETag no longer matches and the new badge tells the truth
    async with site_client.app[RUNTIME].sessionmaker() as session, session.begin():
        await session.execute(
            update(Entity).where(Entity.id == seeded.main_entity_id).values(health=35)
        )
    changed = await site_client.get(f"/badge/{MAIN}.svg", headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    root = parse_badge(await changed.read())
    assert texts(root)[-1].endswith("35 · poor")
    assert message_fill(root) == badges.STATE_COLOURS[rules.POOR]


@pytest.mark.parametrize("name", [PRIVATE, "nobody/nothing"])
async def test_private_and_unknown_badges_say_not_found(site_client: Any, name: str) -> None:
    resp = await site_client.get(f"/badge/{name}.svg")
    assert resp.status == 404
    root = parse_badge(await resp.read())
    assert texts(root)[-1] == "not found"
    assert message_fill(root) == badges.UNKNOWN_COLOUR


async def test_private_and_unknown_badges_are_identical(site_client: Any) -> None:
    private = await (await site_client.get(f"/badge/{PRIVATE}.svg")).read()
    unknown = await (await site_client.get("/badge/nobody/nothing.svg")).read()
    assert private == unknown


async def test_pet_style_carries_the_picture(site_client: Any) -> None:
    flat = parse_badge(await (await site_client.get(f"/badge/{MAIN}.svg?style=flat")).read())
    resp = await site_client.get(f"/badge/{MAIN}.svg?style=pet")
    assert resp.status == 200
    pet = parse_badge(await resp.read())
    (image,) = list(pet.iter(f"{SVG_NS}image"))
    href = image.get("href", "")
    assert href.startswith("data:image/svg+xml;base64,")
    picture = ET.fromstring(base64.b64decode(href.split(",", 1)[1]))
    assert picture.tag == f"{SVG_NS}svg"
    assert "healthy" in (picture.get("aria-label") or "")
    assert not list(flat.iter(f"{SVG_NS}image"))
    assert sprites_in(flat) and not sprites_in(pet)  # the picture takes the sprite's place


def test_badge_width_follows_the_text() -> None:
    short = badges.badge_svg(badges.BadgeLook("tamagitto", "9 · okay", "#000", "okay"))
    long = badges.badge_svg(badges.BadgeLook("tamagitto", "100 · thriving", "#000", "thriving"))
    width = [float(parse_badge(s.encode()).get("width", 0)) for s in (short, long)]
    assert width[1] > width[0]


def test_badge_escapes_its_text() -> None:
    svg = badges.badge_svg(badges.BadgeLook("tamagitto", "<&>", "#000", "x"))
    assert texts(parse_badge(svg.encode()))[-1] == "<&>"
