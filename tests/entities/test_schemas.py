"""The shapes' enums (`app.core.schemas`) say what the rules and the species table say."""

from __future__ import annotations

from app.core import schemas
from app.entities import rules
from app.entities.species import SPECIES


def test_states_are_the_rules_health_states() -> None:
    assert schemas.STATES == rules.HEALTH_STATES


def test_statuses_are_the_rules_statuses() -> None:
    assert schemas.STATUSES == rules.STATUSES


def test_species_are_the_species_table() -> None:
    assert schemas.SPECIES == SPECIES
