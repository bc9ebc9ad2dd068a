"""Pages draw species with the sprites, never with emoji that need an emoji font."""

from __future__ import annotations

import re
from typing import Any

from app.entities.species import SPECIES
from tests.site.test_badge import emoji_in


async def test_species_headings_draw_sprites(site_client: Any) -> None:
    page = await (await site_client.get("/")).text()
    for species in [*SPECIES, "dead"]:
        found = re.search(rf'<h3 id="species-{species}">(.*?)</h3>', page, re.DOTALL)
        assert found is not None, species
        heading = found.group(1)
        assert '<span class="species-icon" aria-hidden="true"><svg' in heading
        assert 'width="28" height="28"' in heading
        assert not emoji_in(heading), species


async def test_not_found_page_draws_a_blob(site_client: Any) -> None:
    resp = await site_client.get("/pets/nobody/nothing", headers={"Accept": "text/html"})
    assert resp.status == 404
    main = (await resp.text()).split('<main id="main" class="lost">', 1)[1].split("</main>")[0]
    assert '<p class="big" aria-hidden="true"><svg' in main
    assert "blob, poor" in main
    assert not emoji_in(main)


async def test_pet_page_kind_line_has_no_emoji(site_client: Any) -> None:
    page = await (await site_client.get("/pets/octo-org/hello-pets")).text()
    kind = page.split('<p class="pet-kind">', 1)[1].split("</p>", 1)[0]
    assert not emoji_in(kind)
