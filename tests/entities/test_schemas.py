"""The shapes' enums (`app.core.schemas`) are the rules' own values, written once."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from app.core import schemas
from app.entities import rules
from app.entities.species import SPECIES


def _enum(model: type[schemas.Shape], field: str) -> list[Any]:
    """The `enum` the OpenAPI document shows for one field of a model."""
    return list(model.model_json_schema()["properties"][field]["enum"])


def test_documented_states_and_statuses_are_the_rules() -> None:
    assert _enum(schemas.Entity, "state") == list(rules.HEALTH_STATES)
    assert _enum(schemas.Entity, "status") == list(rules.STATUSES)
    assert schemas.STATES is rules.HEALTH_STATES
    assert schemas.STATUSES is rules.STATUSES
    assert schemas.SPECIES is SPECIES


@pytest.mark.parametrize(
    ("annotation", "bad"), [(schemas.State, "sleepy"), (schemas.Status, "undead")]
)
def test_a_value_outside_the_rules_is_refused(annotation: Any, bad: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(annotation).validate_python(bad)
