"""`decay:` in .github/tamagitto.yml: validated like the other keys, stored, and read back."""

from __future__ import annotations

import pytest

from app.entities import rules
from app.entities.pet_rows import decay_params
from app.jobs.repo_config import DECAY_ERROR, RepoConfig, parse_config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("decay: off\n", (rules.GRACE_DAYS, 0)),
        ('decay: "off"\n', (rules.GRACE_DAYS, 0)),
        ("decay: {grace_days: 14, per_day: 1}\n", (14, 1)),
        ("decay: {grace_days: 60, per_day: 10}\n", (60, 10)),
        ("decay: {grace_days: 1, per_day: 0}\n", (1, 0)),
        ("decay: {per_day: 5}\n", (rules.GRACE_DAYS, 5)),
        ("decay: {grace_days: 30}\n", (30, rules.DECAY_PER_DAY)),
        ("name: Mochi\n", (rules.GRACE_DAYS, rules.DECAY_PER_DAY)),
    ],
)
def test_valid_settings(text: str, expected: tuple[int, int]) -> None:
    """`off`, both keys, either key alone (the other keeps the seed's value), or nothing."""
    config = parse_config(text)
    assert config.valid, config.errors
    assert (config.grace_days, config.decay_per_day) == expected


@pytest.mark.parametrize(
    "value",
    [
        "{grace_days: 0}",
        "{grace_days: 61}",
        "{per_day: -1}",
        "{per_day: 11}",
        "{per_day: 2.5}",
        "{per_day: true}",
        '{grace_days: "7"}',
        "{grace: 3}",
        "on",
        "5",
        "[1, 2]",
    ],
)
def test_invalid_settings_leave_every_default(value: str) -> None:
    """One error naming the key and its limits; the whole file's defaults apply, as today."""
    config = parse_config(f"decay: {value}\nname: Mochi\n")
    assert config.errors == (DECAY_ERROR,)
    assert "`decay`" in DECAY_ERROR and "1 to 60" in DECAY_ERROR and "0 to 10" in DECAY_ERROR
    assert (config.grace_days, config.decay_per_day) == (rules.GRACE_DAYS, rules.DECAY_PER_DAY)
    assert config.name is None


def test_errors_are_listed_with_the_others() -> None:
    """A bad `decay` is reported beside a bad `fail_below`; `decay` is not an unknown key."""
    config = parse_config("decay: {per_day: 99}\nfail_below: lots\n")
    assert len(config.errors) == 2 and DECAY_ERROR in config.errors
    assert config.warnings == ()


def test_stored_setting_round_trips_to_the_pet() -> None:
    """What the push stores on the repository is what a pet is born or fed with."""
    config = parse_config("decay: {grace_days: 21, per_day: 1}\n")
    stored = config.as_dict()
    assert RepoConfig.from_dict(stored) == config
    assert decay_params(stored) == (21, 1)
    assert decay_params(parse_config("decay: off\n").as_dict()) == (rules.GRACE_DAYS, 0)
    assert decay_params({"name": "old row"}) == (rules.GRACE_DAYS, rules.DECAY_PER_DAY)
