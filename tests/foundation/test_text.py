"""Names and status contexts lose the characters that can disguise text (bidi, zero-width)."""

from __future__ import annotations

import pytest

from app.core.text import visible
from app.jobs.repo_config import DEFAULT_CONTEXT, parse_config

RLO, PDF, ZWSP, ZWJ, LRI, PDI, BOM = (
    "\u202e",
    "\u202c",
    "\u200b",
    "\u200d",
    "\u2066",
    "\u2069",
    "\ufeff",
)


def test_visible_removes_bidi_and_zero_width() -> None:
    assert visible(f"Mo{RLO}chi{PDF}{ZWSP}") == "Mochi"
    assert visible(f"{LRI}tama{ZWJ}gitto{PDI}{BOM}") == "tamagitto"
    assert visible("Ünïcödé 猫 🐱") == "Ünïcödé 猫 🐱"  # ordinary text is left alone


def test_repo_config_name_and_context_are_cleaned() -> None:
    config = parse_config(f'name: "{RLO}Mochi{ZWSP}"\ncontext: "tama{ZWJ}gitto/{LRI}ci{PDI}"\n')
    assert config.valid, config.errors
    assert config.name == "Mochi"
    assert config.context == "tamagitto/ci"


@pytest.mark.parametrize("key", ["name", "context"])
def test_invisible_only_values_are_errors(key: str) -> None:
    config = parse_config(f'{key}: "{ZWSP}{RLO}{PDF}"\n')
    assert not config.valid
    assert any(f"`{key}`" in error for error in config.errors)
    assert config.name is None and config.context == DEFAULT_CONTEXT
