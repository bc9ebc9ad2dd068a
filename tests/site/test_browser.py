"""The site in headless Chromium (playwright-core) against a real `tamagitto serve` subprocess.

Needs `apt-get install -y chromium` and `cd site && npm ci`; without them these tests skip and
say so. The server runs in embedded mode (SQLite in a temporary TAMAGITTO_DATA_DIR, jobs and
events in-process) on a free port, with pets seeded through the pet service beforehand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.entities import rules
from app.entities.species import SPECIES
from tests.site.seed import COMMITS, MAIN, PRIVATE, STATE_HEALTH, STORY, STORY_COMMITTED, Seeded
from tests.site.serve import run_check


def assert_clean(result: dict[str, Any]) -> None:
    """No console errors, uncaught exceptions, CSP violations or requests to other origins."""
    assert result["consoleErrors"] == []
    assert result["pageErrors"] == []
    assert result["cspViolations"] == []
    assert result["foreignRequests"] == []


def test_landing_renders_every_species_and_state(embedded_site: tuple[str, Seeded]) -> None:
    base, _ = embedded_site
    result = run_check("landing", base)
    assert result["status"] == 200
    assert "script-src 'self'" in result["csp"]
    drawn = {(f["species"], f["state"]) for f in result["figures"] if f["svg"] and f["visible"]}
    for species in SPECIES:
        for state in rules.HEALTH_STATES:
            assert (species, state) in drawn, f"{species} {state} not drawn"
    captions = {f["caption"] for f in result["figures"]}
    assert {s.capitalize() for s in rules.HEALTH_STATES} <= captions
    assert result["install"] == "/setup"
    assert len(result["rules"]) > 5
    assert result["states"][0].startswith("Thriving")
    assert_clean(result)


def test_pet_page_shows_health_chart_and_analyses(embedded_site: tuple[str, Seeded]) -> None:
    base, seeded = embedded_site
    result = run_check("pet", base, f"/pets/{MAIN}")
    assert result["status"] == 200
    assert result["name"] == "Pistachio"
    assert result["health"] == str(seeded.main_health) == "72"
    assert result["state"] == "Healthy"
    assert result["petStatus"] == "alive"
    assert result["bar"] == "72"
    assert result["pictureLoaded"] and result["badgeLoaded"]
    # one point per day with a change, in order, ending at today's health
    assert result["points"] == [88, 78, 84, 79, 72]
    analyses = result["analyses"]
    assert [a["sha"] for a in analyses] == list(reversed(seeded.main_shas))
    expected = [("+" if d > 0 else "\u2212") + str(abs(d)) for _, d, _, _ in reversed(COMMITS)]
    assert [a["delta"].split()[0] for a in analyses] == expected
    assert [a["reasons"] for a in analyses] == [len(r) for _, _, _, r in reversed(COMMITS)]
    assert analyses[0]["link"] == f"https://github.com/{MAIN}/commit/{seeded.main_shas[-1]}"
    assert not any(a["highlighted"] for a in analyses)
    assert f"/badge/{MAIN}.svg" in result["snippet"]
    assert_clean(result)


def test_a_single_point_is_drawn_with_its_value_in_its_state_colour(
    embedded_site: tuple[str, Seeded],
) -> None:
    """One commit that took a pet from 100 to 72: a healthy point labelled 72, not a red dot."""
    base, _ = embedded_site
    result = run_check("pet", base, f"/pets/demo/{rules.HEALTHY}")
    assert result["points"] == [STATE_HEALTH[rules.HEALTHY]]
    assert result["pointLabels"] == [str(STATE_HEALTH[rules.HEALTHY])]
    assert [p["state"] for p in result["pointStates"]] == [rules.HEALTHY]
    colours = result["stateColours"]
    assert result["pointStates"][0]["fill"] == colours[rules.HEALTHY] != colours[rules.STATE_DYING]
    assert len(set(colours.values())) == len(colours)  # every band its own colour
    assert_clean(result)


def test_points_take_the_band_of_their_health(embedded_site: tuple[str, Seeded]) -> None:
    """MAIN's points: 88 thriving, then healthy; the bands come from rules, not the script."""
    base, _ = embedded_site
    result = run_check("pet", base, f"/pets/{MAIN}")
    states = [p["state"] for p in result["pointStates"]]
    assert states == [rules.health_state(h) for h in result["points"]]
    assert states[0] == rules.THRIVING and states[-1] == rules.HEALTHY
    assert_clean(result)


def test_story_rows_add_up_with_decay_death_and_revival(embedded_site: tuple[str, Seeded]) -> None:
    """demo/story: every change a row (newest first), death and revival marked on the chart."""
    base, _ = embedded_site
    result = run_check("pet", base, f"/pets/{STORY}")
    rows = list(reversed(result["rows"]))  # oldest first
    reasons = [r["reason"] for r in rows]
    assert reasons == [rules.REASON_COMMIT] * 2 + [rules.REASON_DECAY] * 5 + [
        rules.REASON_DEATH,
        rules.REASON_REVIVAL,
        rules.REASON_COMMIT,
    ]
    healths = [r["cells"][1] for r in rows]
    assert healths[:3] == ["100 \u2192 100", "100 \u2192 10", "10 \u2192 8"]
    assert healths[-3:] == ["0 \u2192 0", "0 \u2192 100", "100 \u2192 92"]
    assert rows[0]["cells"][2] == "\u00b10 (scored +9)"  # at 100: nothing applied
    assert [r["decayStart"] for r in rows].count(True) == 1 and rows[2]["decayStart"]
    assert "decay started" in rows[2]["cells"][3]
    assert "died" in rows[7]["cells"][3] and "generation 2" in rows[8]["cells"][3]
    assert rows[-1]["time"] == STORY_COMMITTED.isoformat()
    assert rows[-1]["timeTitle"].startswith("analysed ")
    markers = result["markers"]
    assert markers.count("decay-start") == 1 and markers.count("decay") == 4
    assert markers.count("death") == 1 and markers.count("revival") == 1
    assert result["pointStates"][7]["state"] == "dead"
    assert_clean(result)


def test_analyses_show_applied_next_to_scored(embedded_site: tuple[str, Seeded]) -> None:
    """The +9 at 100 reads "±0 no change" with "(scored +9: health is at 100)" beside it."""
    base, seeded = embedded_site
    result = run_check("pet", base, f"/pets/{STORY}")
    by_sha = {a["sha"]: a for a in result["analyses"]}
    capped = by_sha[seeded.story_shas[0]]
    assert capped["delta"].split()[0] == "\u00b10"
    assert capped["scored"] == "(scored +9: health is at 100)"
    assert by_sha[seeded.story_shas[1]]["scored"] is None  # −90 applied in full
    latest = by_sha[seeded.story_shas[2]]
    assert latest["time"] == STORY_COMMITTED.isoformat()
    assert latest["timeTitle"].startswith("analysed ")
    assert_clean(result)


def test_sha_highlights_that_commit(embedded_site: tuple[str, Seeded]) -> None:
    base, seeded = embedded_site
    target = seeded.main_shas[2]
    result = run_check("pet", base, f"/pets/{MAIN}?sha={target[:10]}")
    highlighted = [a["sha"] for a in result["analyses"] if a["highlighted"]]
    assert highlighted == [target]
    assert_clean(result)


@pytest.mark.parametrize("path", [f"/pets/{PRIVATE}", "/pets/nobody/nothing"])
def test_not_found_page(embedded_site: tuple[str, Seeded], path: str) -> None:
    base, _ = embedded_site
    result = run_check("notfound", base, path)
    assert result["status"] == 404
    assert result["h1"] == "Nothing lives here"
    assert result["home"] == "/"
    assert result["cspViolations"] == [] and result["foreignRequests"] == []


def test_360px_has_no_horizontal_scroll(
    embedded_site: tuple[str, Seeded], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base, _ = embedded_site
    out = tmp_path_factory.mktemp("screens")
    paths = ["/", f"/pets/{MAIN}", "/pets/nobody/nothing", "/docs/config", "/docs/self-hosting"]
    result = run_check("narrow", base, str(out), *paths)
    assert [r["path"] for r in result["results"]] == paths
    for page in result["results"]:
        assert page["innerWidth"] == 360
        assert page["scrollWidth"] <= 360, f"{page['path']} scrolls sideways: {page['wide']}"
        assert page["wide"] == [], page["path"]
        assert Path(page["screenshot"]).stat().st_size > 5000
        assert page["cspViolations"] == []


def test_node_runner_reports_failures_as_json(embedded_site: tuple[str, Seeded]) -> None:
    """The runner itself can fail: an unknown check exits non-zero and pytest sees it."""
    base, _ = embedded_site
    with pytest.raises(AssertionError, match="unknown check"):
        run_check("no-such-check", base)


def test_setup_wizard_form_targets_the_chosen_account(embedded_site: tuple[str, Seeded]) -> None:
    base, _ = embedded_site
    result = run_check("setup", base)
    assert result["status"] == 200
    assert result["orgHiddenAtFirst"]
    assert result["personal"].startswith("https://github.com/settings/apps/new?state=")
    state = result["personal"].split("?state=")[1]
    assert result["organization"] == (
        f"https://github.com/organizations/pet-lovers/settings/apps/new?state={state}"
    )
    assert result["back"] == result["personal"]
    assert json.loads(result["manifest"])["default_events"]
    assert "form-action 'self' https://github.com" in result["csp"]
    assert_clean(result)
