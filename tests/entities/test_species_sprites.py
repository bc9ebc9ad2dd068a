"""Species by language, names, roman generations, and the procedural SVG sprites."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.entities import rules
from app.entities.species import (
    NAMES,
    SPECIES,
    SUBSPECIES,
    generation_name,
    pet_name,
    roman,
    species_for,
    strip_generation,
)
from app.entities.sprites import sprite_svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("language", "species", "subspecies"),
    [
        ("JavaScript", "pet", {"cat", "dog", "hamster"}),
        ("TypeScript", "pet", {"cat", "dog", "hamster"}),
        ("Python", "plant", {"succulent", "fern", "flower"}),
        ("Go", "robot", {"robot", "android"}),
        ("Rust", "robot", {"robot", "android"}),
        ("C++", "robot", {"robot", "android"}),
        ("Java", "golem", {"golem", "stone creature"}),
        ("C#", "golem", {"golem", "stone creature"}),
        ("Haskell", "blob", {"blob"}),
        (None, "blob", {"blob"}),
        ("", "blob", {"blob"}),
    ],
)
def test_species_follow_the_seed_table(
    language: str | None, species: str, subspecies: set[str]
) -> None:
    """Language picks the species; the sub-species is one of the table's, stable per repo."""
    for repo_id in range(30):
        kind, sub = species_for(language, repo_id)
        assert kind == species and sub in subspecies
        assert species_for(language, repo_id) == (kind, sub)


def test_subspecies_spread_across_repositories() -> None:
    """Every sub-species actually occurs: the pick depends on the repository id."""
    seen = {species_for("TypeScript", i)[1] for i in range(200)}
    assert seen == set(SUBSPECIES["pet"])


def test_names_are_stable_pleasant_and_varied() -> None:
    """Same key, same name; ids and full names both work; many names are in use."""
    assert pet_name(42) == pet_name(42) == pet_name("42")
    names = {pet_name(i) for i in range(500)}
    assert len(names) > len(NAMES) * 0.9
    assert all(n.isalpha() and n[0].isupper() and 3 <= len(n) <= 10 for n in names)
    assert pet_name("octo/hello") in NAMES


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "I"), (2, "II"), (4, "IV"), (9, "IX"), (14, "XIV"), (40, "XL"), (1994, "MCMXCIV")],
)
def test_roman(n: int, text: str) -> None:
    """Generation suffixes."""
    assert roman(n) == text


def test_generation_names_do_not_stack() -> None:
    """Mochi → Mochi II → Mochi III, never "Mochi II III"."""
    assert generation_name("Mochi", 1) == "Mochi"
    assert generation_name("Mochi", 2) == "Mochi II"
    assert generation_name("Mochi II", 3) == "Mochi III"
    assert strip_generation("Mochi XIV") == "Mochi"
    assert strip_generation("Mr Pickles") == "Mr Pickles"


def parse(svg: str) -> ET.Element:
    """Parse as XML and check it is a standalone SVG document."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") and root.get("width") == "256"
    assert not list(root.iter(f"{SVG}script"))
    return root


def all_sprites(seed: int) -> dict[tuple[str, str, str], str]:
    """Every species × sub-species × (five states + dead) for one repository."""
    out = {}
    for species in SPECIES:
        for sub in SUBSPECIES[species]:
            for state in rules.HEALTH_STATES:
                out[(species, sub, state)] = sprite_svg(species, sub, state, seed, "alive")
            out[(species, sub, "dead")] = sprite_svg(species, sub, "dying", seed, "dead")
    return out


def test_every_sprite_parses_as_svg() -> None:
    """All species, sub-species and states, for several repositories, are well-formed SVG."""
    for seed in (0, 1, 987654321, 2**40 + 7):
        for svg in all_sprites(seed).values():
            parse(svg)


def test_five_distinct_states_and_a_distinct_death() -> None:
    """For each species the five states and death are six different pictures."""
    sprites = all_sprites(4242)
    for species in SPECIES:
        for sub in SUBSPECIES[species]:
            pictures = {sprites[(species, sub, s)] for s in (*rules.HEALTH_STATES, "dead")}
            assert len(pictures) == 6


def test_states_read_at_a_glance() -> None:
    """Thriving is saturated and sparkles; dying is pale with a thermometer; dead is a stone."""
    thriving = sprite_svg("pet", "cat", "thriving", 7, "alive")
    dying = sprite_svg("pet", "cat", "dying", 7, "alive")
    dead = sprite_svg("pet", "cat", "dying", 7, "dead")
    assert ",85%," in thriving and "#ffc83d" in thriving  # saturated body, golden sparkles
    assert ",10%," in dying and "#e84a4a" in dying  # washed out, thermometer bulb
    assert "RIP" in dead and ",85%," not in dead


def test_different_repositories_look_different() -> None:
    """Across 300 repositories no two share a thriving sprite of the same species."""
    for species, sub in (("pet", "cat"), ("robot", "robot"), ("blob", "blob")):
        pictures = {sprite_svg(species, sub, "thriving", seed, "alive") for seed in range(300)}
        assert len(pictures) == 300
        assert sprite_svg(species, sub, "okay", 5, "alive") == sprite_svg(
            species, sub, "okay", 5, "alive"
        )


def test_unknown_species_and_state_still_draw() -> None:
    """A bad row never leaves a pet without a picture."""
    parse(sprite_svg("dragon", None, "ecstatic", 1, "alive"))
