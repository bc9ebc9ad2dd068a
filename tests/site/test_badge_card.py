"""`?style=card`: a 240 × 80 card with the sprite, name, health bar and number, repository."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from sqlalchemy import update

from app.core.models import Entity
from app.entities import rules
from app.infra.runtime import RUNTIME
from app.web.site import badges
from app.web.site.card import BAR, card_svg, fit
from tests.site.seed import MAIN, PRIVATE, STATE_HEALTH, Seeded
from tests.site.test_badge import SVG_NS, dates_of, emoji_in, parse_badge, sprites_in


def part(root: ET.Element, name: str) -> ET.Element:
    (found,) = [el for el in root.iter() if el.get("data-part") == name]
    return found


async def card(client: Any, full_name: str, **headers: str) -> tuple[Any, ET.Element | None]:
    resp = await client.get(f"/badge/{full_name}.svg?style=card", headers=headers)
    body = await resp.read()
    return resp, parse_badge(body) if body else None


@pytest.mark.parametrize("state", list(STATE_HEALTH))
async def test_card_per_state(site_client: Any, state: str) -> None:
    resp, root = await card(site_client, f"demo/{state}")
    assert resp.status == 200 and root is not None
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    assert (root.get("width"), root.get("height")) == ("240", "80")
    health = STATE_HEALTH[state]
    _, _, width, _ = BAR
    bar = part(root, "bar")
    assert float(bar.get("width", -1)) == pytest.approx(width * health / 100, abs=0.1)
    assert bar.get("fill") == badges.STATE_COLOURS[state]
    assert part(root, "state").text == state
    assert str(health) in [t.text for t in root.iter(f"{SVG_NS}text")]
    assert part(root, "repo").text == f"demo/{state}"
    (sprite,) = sprites_in(root)
    assert sprite.get("aria-label", "").endswith(f", {state}")
    assert not emoji_in(await resp.text())


async def test_card_of_the_main_pet(site_client: Any, seeded: Seeded) -> None:
    _, root = await card(site_client, MAIN)
    assert root is not None
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "Pistachio" in texts and "72" in texts and MAIN in texts
    title = root.findtext(f"{SVG_NS}title")
    assert title == f"Pistachio, the Tamagitto pet of {MAIN}: 72/100, healthy"
    assert root.get("aria-label") == title


async def test_dead_card_reads_rip_with_dates(site_client: Any) -> None:
    resp, root = await card(site_client, "demo/dead")
    assert root is not None
    assert part(root, "rip").text == "RIP"
    assert part(root, "dates").text == await dates_of(site_client, "demo/dead")
    assert not [el for el in root.iter() if el.get("data-part") == "bar"]
    (sprite,) = sprites_in(root)
    assert "resting in peace" in sprite.get("aria-label", "")
    assert not emoji_in(await resp.text())


async def test_card_etag_and_304(site_client: Any, seeded: Seeded) -> None:
    first, _ = await card(site_client, MAIN)
    etag = first.headers["ETag"]
    flat = await site_client.get(f"/badge/{MAIN}.svg")
    assert flat.headers["ETag"] != etag  # each style is its own representation
    same, body = await card(site_client, MAIN, **{"If-None-Match": etag})
    assert same.status == 304 and body is None
    assert same.headers["Cache-Control"] == "public, max-age=300"
    async with site_client.app[RUNTIME].sessionmaker() as session, session.begin():
        await session.execute(
            update(Entity).where(Entity.id == seeded.main_entity_id).values(health=35)
        )
    changed, root = await card(site_client, MAIN, **{"If-None-Match": etag})
    assert changed.status == 200 and root is not None
    assert part(root, "bar").get("fill") == badges.STATE_COLOURS[rules.POOR]


async def test_private_and_unknown_cards_are_the_same_not_found(site_client: Any) -> None:
    private, private_root = await card(site_client, PRIVATE)
    unknown, _ = await card(site_client, "nobody/nothing")
    assert private.status == unknown.status == 404
    assert await private.read() == await unknown.read()
    assert private_root is not None and not sprites_in(private_root)
    assert "not found" in [t.text for t in private_root.iter(f"{SVG_NS}text")]


def test_card_escapes_and_fits_a_long_name() -> None:
    from app.web.site.card import CardLook

    sprite = '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"></svg>'
    name = "<script>&" + "w" * 60
    svg = card_svg(CardLook(name, "o/r", 50, "okay", "#000", "okay", sprite))
    root = parse_badge(svg.encode())
    shown = next(t.text or "" for t in root.iter(f"{SVG_NS}text"))
    assert shown.startswith("<script>&") and shown.endswith("…")
    assert badges.text_width(shown) * 14 / 11 * 1.1 <= 150 + 1
    assert "<script>" not in svg
    assert fit("short", 150, 14) == "short"
