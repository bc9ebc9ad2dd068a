"""The pet page's caretakers section (issue 18): who cared, their best commit, achievements;
nothing at all with `caretakers: off`."""

from __future__ import annotations

import html as htmllib
from typing import Any

from sqlalchemy import update

from app.core.models import Repository
from app.entities import credit
from app.infra.runtime import RUNTIME
from tests.site.helpers import find, parse
from tests.site.seed import MAIN, Seeded, sha_for
from tests.site.test_badge import emoji_in

OCTO = credit.person("Octo Cat", "octo@example.com")


def section_of(page: str) -> str:
    return page.split('<section id="caretakers"', 1)[1].split("</section>", 1)[0]


async def test_the_pet_page_shows_its_caretakers(site_client: Any, seeded: Seeded) -> None:
    page = await (await site_client.get(f"/pets/{MAIN}")).text()
    rows = [tr.attrs["data-person"] for tr in find(parse(page), "tr") if "data-person" in tr.attrs]
    assert rows == [OCTO.key, OCTO.key]  # the last 30 days, and all time
    text = htmllib.unescape(section_of(page))
    assert "Octo Cat" in text and "Last 30 days" in text and "All time" in text
    assert "+6" in text and "−34" in text  # MAIN: +6 added; 12 + 10 + 5 + 7 taken away
    assert f"/commit/{sha_for(MAIN, 2)}" in text  # "Add tests for the router", the only gain
    assert "First meal" in text and "First test" in text
    assert "octo@example.com" not in page
    assert not emoji_in(text)


async def test_caretakers_off_hides_the_section(site_client: Any, seeded: Seeded) -> None:
    async with site_client.app[RUNTIME].sessionmaker() as session, session.begin():
        await session.execute(
            update(Repository)
            .where(Repository.id == seeded.main_repository_id)
            .values(config={"caretakers": False})
        )
    page = await (await site_client.get(f"/pets/{MAIN}")).text()
    assert 'id="caretakers"' not in page and "First meal" not in page
