"""The landing page's generated sections, rendered from the constants the code runs with."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Final

from markupsafe import Markup

from app.analysis import scoring
from app.entities import rules
from app.entities.species import LANGUAGE_SPECIES, SPECIES, SUBSPECIES, generation_name
from app.entities.sprites import sprite_svg, tombstone_svg
from app.web.site.templating import SITE_DIR, render_partial

HEADING_ICON: Final = 28  # px, the sprite beside a species heading

# Species shown in the gallery, with the seed that draws them (any stable number will do).
GALLERY_SEEDS: Final[dict[str, int]] = {species: 1000 + i for i, species in enumerate(SPECIES)}


def state_ranges() -> list[tuple[str, int, int]]:
    """(state, lowest, highest) health per state, found by asking `rules.health_state` itself."""
    ranges: dict[str, list[int]] = {}
    for health in range(rules.MIN_HEALTH, rules.MAX_HEALTH + 1):
        ranges.setdefault(rules.health_state(health), []).append(health)
    return [(state, min(ranges[state]), max(ranges[state])) for state in rules.HEALTH_STATES]


# Spellings in the language table that are aliases of a name already listed.
LANGUAGE_ALIASES: Final = frozenset({"js", "ts", "py", "golang", "cpp", "csharp"})


def languages_for(species: str) -> str:
    """Which languages get this species, from the species table (blob takes the rest)."""
    names = [
        lang
        for lang, kind in LANGUAGE_SPECIES.items()
        if kind == species and lang not in LANGUAGE_ALIASES
    ]
    if not names:
        return "Every other language"
    return "Languages: " + ", ".join(names)


def _icon(svg: str) -> Markup:
    """A sprite, small, beside a heading's word (decorative: the word carries the meaning)."""
    from app.web.site.card import icon_sprite

    return Markup(icon_sprite(svg, HEADING_ICON))


def _gallery_row(species: str) -> dict[str, object]:
    """One species of the gallery: its kinds, languages, heading icon and five pictures."""
    subs = SUBSPECIES[species]
    seed = GALLERY_SEEDS[species]

    def draw(state: str) -> Markup:
        return Markup(sprite_svg(species, subs[0], state, seed, rules.ALIVE))

    return {
        "species": species,
        "kinds": ", ".join(subs),
        "languages": languages_for(species),
        "icon": _icon(draw(rules.HEALTHY)),
        "figures": [{"state": state, "svg": draw(state)} for state in rules.HEALTH_STATES],
    }


def gallery_html() -> Markup:
    """Every species in its five states, drawn by the same code that draws real pets."""
    ghost = tombstone_svg(GALLERY_SEEDS[SPECIES[0]], "a pet that died, resting in peace")
    rows = [_gallery_row(species) for species in SPECIES]
    return render_partial("gallery.html", rows=rows, ghost=Markup(ghost), ghost_icon=_icon(ghost))


def states_html() -> Markup:
    """The health states table: range, colour swatch and the word, never colour alone."""
    return render_partial("states.html", ranges=state_ranges())


def _hours(delta: timedelta) -> int:
    """Whole hours of a rules duration."""
    return int(delta.total_seconds() // 3600)


def life_html() -> Markup:
    """Decay, death and revival, written from the constants in `app.entities.rules`."""
    second = generation_name("Mochi", 2)
    items = [
        ("Birth", f"A new pet starts at {rules.MAX_HEALTH} health."),
        (
            "Earning the top",
            f"From {rules.THRIVING_AT} up, a commit's gain shrinks with the room left to "
            f"{rules.MAX_HEALTH} (a gain of 10 at 90 moves health by "
            f"{rules.applied_gain(90, 10)}, and always by at least 1), so the top is earned and "
            "kept. Losses always apply in full.",
        ),
        (
            "Decay",
            f"With no commits, a pet loses {rules.DECAY_PER_DAY} health per day after a "
            f"{rules.GRACE_DAYS}-day grace period, at most once a day. Archived or suspended "
            "repositories don't decay.",
        ),
        (
            "Dying",
            Markup(
                "Below {} health the pet's status becomes <em>dying</em>, a warning that comes "
                "days before the end."
            ).format(rules.POOR_AT),
        ),
        (
            "Death",
            f"A pet at {rules.MIN_HEALTH} health for {_hours(rules.DEATH_AFTER)} hours dies. "
            "Dead pets take no health changes; analyses are still recorded.",
        ),
        (
            "Revival",
            f"{_hours(rules.COOLDOWN)} hours after death a new generation can hatch at full "
            f"health, with the same name and a numeral: “{second}”.",
        ),
    ]
    return render_partial("life.html", items=items)


def _rule_effect(rule: Mapping[str, object]) -> str:
    """A scoring rule's effect: its weight (× signal) or its fixed points."""
    if "weight" in rule:
        return f"{rule['weight']:+g} × signal" if isinstance(rule["weight"], float) else "—"
    points = rule.get("points")
    if points is None:
        return "—"
    return f"{points:+d}" if isinstance(points, int) and points else str(points)


def scoring_html() -> Markup:
    """The seed's formula and every scoring rule, from `app.analysis.scoring`.

    A list rather than a table: four columns of prose don't fit a phone's width.
    """
    formula = (
        f"delta = {scoring.TEST_WEIGHT:g} × tests + {scoring.DOC_WEIGHT:g} × docs − "
        f"{scoring.COMPLEXITY_WEIGHT:g} × complexity − {scoring.LINT_WEIGHT:g} × lint, "
        f"capped at ±{scoring.FORMULA_CAP}"
    )
    shown = [
        {
            "code": rule["code"],
            "family": rule.get("family", ""),
            "effect": _rule_effect(rule),
            "rule": rule.get("rule", ""),
        }
        for rule in scoring.RULES
    ]
    return render_partial("scoring.html", formula=formula, rules=shown)


VALIDITY_FILE: Final = SITE_DIR / "data" / "validity.json"

VALIDITY_COLUMNS: Final = (
    ("history", "name"),
    ("scored commits", "scored"),
    ("AUC(−delta)", "auc_delta"),
    ("AUC(source lines added)", "auc_size"),
    ("size-controlled AUC", "size_controlled"),
    ("at 100", "at_max"),
    ("median health", "median_health"),
    ("deaths (decay alone)", "deaths"),
)


def _validity_cell(row: Mapping[str, object], key: str) -> str:
    """One cell of the validity table, as the README prints it."""
    value = row.get(key)
    if key == "at_max" and isinstance(value, float):
        return f"{value:.0%}"
    if key == "deaths":
        return f"{value} ({row.get('deaths_decay_only')})"
    if isinstance(value, float) and key != "median_health":
        return f"{value:.2f}"
    return str(value)


def validity_html(path: Path = VALIDITY_FILE) -> Markup:
    """The latest `bench/validity.py --record` figures as a table (empty without a record)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return render_partial("validity.html", rows=None)
    rows = [*record.get("histories", []), {**record.get("pooled", {}), "name": "pooled"}]
    return render_partial(
        "validity.html",
        date=record.get("date", ""),
        titles=[title for title, _ in VALIDITY_COLUMNS],
        rows=[[_validity_cell(row, key) for _, key in VALIDITY_COLUMNS] for row in rows],
    )
