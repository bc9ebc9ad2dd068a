"""Streak and achievement rules: pure functions, time injected through the commits' own times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.entities import achievements, credit, rules, streaks
from app.entities.achievements import Mark, Past, PetPast, Step
from app.entities.ledger import Ledger

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ADA = credit.person("Ada", "ada@example.com", "ada")
BOB = credit.person("Bob", "bob@example.com")


NOBODY = Past()
QUIET = PetPast()


def codes(step: Step, past: Past = NOBODY, pet: PetPast = QUIET) -> list[str]:
    return [kind.code for kind in achievements.earned(step, past, pet)]


def step(at: datetime, delta: int = 1, *reasons: tuple[str, int], **extra: object) -> Step:
    return Step(f"{int(at.timestamp()):x}".ljust(40, "0"), at, delta, tuple(reasons), **extra)  # type: ignore[arg-type]


# --- streaks ------------------------------------------------------------------------------------


def test_streak_counts_consecutive_days_and_survives_until_the_day_after() -> None:
    today = streaks.day_number(T0)
    days = [today - 5, today - 4, today - 3, today - 1, today]
    assert streaks.streak(days, today) == streaks.Streak(2, 3, today - 3, today)
    assert streaks.streak(days, today + 1).current == 2  # today is not over yet
    assert streaks.streak(days, today + 2).current == 0  # a whole day without: broken
    assert streaks.streak(days, today - 4) == streaks.Streak(2, 2, today - 4, today - 4)
    assert streaks.streak([], today) == streaks.Streak()


def test_days_are_utc_calendar_days() -> None:
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    next_morning = late + timedelta(hours=1)
    assert streaks.day_number(next_morning) == streaks.day_number(late) + 1
    assert streaks.day_date(streaks.day_number(late)).isoformat() == "2026-03-02"


@given(st.sets(st.integers(0, 60), max_size=40), st.integers(0, 70))
def test_streak_properties(days: set[int], today: int) -> None:
    found = streaks.streak(days, today)
    assert 0 <= found.current <= found.best
    seen = {d for d in days if d <= today}
    assert found.best == max((streaks.length_on(seen, d) for d in seen), default=0)


# --- single rules -------------------------------------------------------------------------------


def test_first_commit_first_test_and_scribe() -> None:
    first = step(T0, 3, ("tests_added", 2), ("docs_added", 1))
    assert codes(first) == ["first_commit", "first_test", "scribe"]
    later = codes(first, Past(commits=4, first_at=T0 - DAY))
    assert later == ["first_test", "scribe"]  # `earned` skips what the person already has
    have = achievements.earned(first, Past(commits=4), PetPast(), {"first_test", "scribe"})
    assert have == []


def test_tidy_ten_needs_ten_lint_clean_commits_in_a_row() -> None:
    clean = tuple(Mark(T0 - i * DAY, 1) for i in range(9, 0, -1))
    assert "tidy_ten" in codes(step(T0), Past(9, T0 - 9 * DAY, clean))
    dirty = (Mark(T0 - 9 * DAY, 1, lint_clean=False), *clean[1:])
    assert "tidy_ten" not in codes(step(T0), Past(9, T0 - 9 * DAY, (*dirty[1:], dirty[0])))
    assert "tidy_ten" not in codes(step(T0, -1, ("lint_introduced", -1)), Past(9, T0, clean))
    assert "tidy_ten" not in codes(step(T0), Past(8, T0, clean[1:]))


def test_untangler_needs_a_month_of_net_removal_ending_in_a_removal() -> None:
    month_ago = T0 - timedelta(days=31)
    removing = step(T0, 2, ("complexity_reduced", 2))
    assert "untangler" in codes(removing, Past(5, month_ago, month_complexity=-1))
    assert "untangler" not in codes(removing, Past(5, T0 - 10 * DAY, month_complexity=-1))
    assert "untangler" not in codes(removing, Past(5, month_ago, month_complexity=-2))  # net 0
    adding = step(T0, 1, ("complexity_added", -1))
    assert "untangler" not in codes(adding, Past(5, month_ago, month_complexity=9))


def test_big_lift_and_centurion() -> None:
    assert "big_lift" in codes(step(T0, 10))
    assert "big_lift" not in codes(step(T0, 9))
    assert "centurion" in codes(step(T0), Past(99, T0 - DAY))
    assert "centurion" not in codes(step(T0), Past(98, T0 - DAY))


def test_streaks_count_the_days_of_commits_that_did_not_lower_health() -> None:
    today = streaks.day_number(T0)
    six = frozenset(range(today - 6, today))
    assert "streak_7" in codes(step(T0, 0), Past(6, T0 - 6 * DAY, good_days=six))
    assert "streak_7" not in codes(step(T0, -1), Past(6, T0 - 6 * DAY, good_days=six))
    holed = six - {today - 3}
    assert "streak_7" not in codes(step(T0, 2), Past(6, T0 - 6 * DAY, good_days=holed))
    month = frozenset(range(today - 29, today))
    past = Past(29, T0 - 29 * DAY, good_days=month)
    assert {"streak_7", "streak_30"} <= set(codes(step(T0), past))


def test_rescuer_new_life_and_caught_up() -> None:
    rescue = step(T0, 5, status_before=rules.DYING, status_after=rules.ALIVE)
    assert "rescuer" in codes(rescue)
    assert "rescuer" not in codes(step(T0, 5, status_before=rules.DYING, status_after=rules.DYING))
    died = PetPast(generation=2, generation_commits=0, last_death=T0 - 3 * DAY)
    assert {"revived", "caught_up"} <= set(codes(step(T0, 0), pet=died))
    assert "caught_up" not in codes(step(T0, -2), pet=died)
    late = PetPast(generation=2, generation_commits=0, last_death=T0 - 8 * DAY)
    assert "revived" in codes(step(T0), pet=late) and "caught_up" not in codes(step(T0), pet=late)
    second = PetPast(generation=2, generation_commits=1, last_death=T0 - 3 * DAY)
    assert "revived" not in codes(step(T0), pet=second)


def test_keeper_needs_thirty_thriving_days_and_a_thriving_pet_after() -> None:
    since = PetPast(thriving_since=T0 - 30 * DAY)
    assert "keeper" in codes(step(T0, 1, health_after=90), pet=since)
    assert "keeper" not in codes(step(T0, -20, health_after=70), pet=since)
    assert "keeper" not in codes(step(T0), pet=PetPast(thriving_since=T0 - 29 * DAY))
    assert "keeper" not in codes(step(T0), pet=PetPast(thriving_since=None))


def test_locksmith_cleans_a_secret_within_a_day() -> None:
    leak = step(T0, -15, ("secret_committed", -15), secret_paths=("app/settings.py",))
    pet = PetPast(secrets=(leak,))
    fix = step(T0 + timedelta(hours=3), 0, paths=("app/settings.py",))
    assert "locksmith" in codes(fix, pet=pet)
    revert = step(T0 + timedelta(hours=3), 15, ("revert", 15), reverts=leak.sha[:7])
    assert "locksmith" in codes(revert, pet=pet)
    assert "locksmith" not in codes(step(T0 + 2 * DAY, 0, paths=("app/settings.py",)), pet=pet)
    assert "locksmith" not in codes(step(T0 + DAY / 2, 0, paths=("other.py",)), pet=pet)
    again = step(T0 + DAY / 2, -15, ("secret_committed", -15), paths=("app/settings.py",))
    assert "locksmith" not in codes(again, pet=pet)


def test_about_a_dozen_kinds_each_described() -> None:
    assert 12 <= len(achievements.KINDS) <= 15
    assert len(achievements.BY_CODE) == len(achievements.KINDS)
    for kind in achievements.KINDS:
        assert kind.title and kind.description and kind.emoji


def test_the_ledger_keeps_exactly_the_figures_the_rules_read() -> None:
    ledger = Ledger()
    for i in range(40):  # a commit a day; every third lowers health, every fifth adds burden
        delta = -1 if i % 3 == 0 else 2
        reasons = (("complexity_added", -2),) if i % 5 == 0 else (("complexity_reduced", 1),)
        ledger.record(step(T0 + i * DAY, delta, *reasons), [credit.Credit(ADA, "author", delta)])
    at = T0 + 40 * DAY
    past = ledger.people[ADA.key].past(at)
    assert past.commits == 40 and past.first_at == T0
    assert [m.at for m in past.recent] == [T0 + i * DAY for i in range(31, 40)]
    month = [i for i in range(40) if T0 + i * DAY > at - achievements.MONTH]
    assert past.month_complexity == sum(-2 if i % 5 == 0 else 1 for i in month)
    today = streaks.day_number(at)
    assert past.good_days == frozenset(
        streaks.day_number(T0 + i * DAY)
        for i in range(40)
        if i % 3 and streaks.day_number(T0 + i * DAY) >= today - achievements.WINDOW_DAYS
    )


# --- the ledger: a whole history, granted once ---------------------------------------------------


def test_the_ledger_grants_once_and_points_at_the_earning_commit() -> None:
    ledger = Ledger()
    shared = credit.credits(
        "Ada", "ada@example.com", "ada", "x\n\nCo-authored-by: Bob <bob@example.com>", 4
    )
    first = ledger.record(step(T0, 4, ("tests_added", 3)), shared)
    assert [(g.person.key, g.kind.code) for g in first] == [
        (ADA.key, "first_commit"),
        (ADA.key, "first_test"),
        (BOB.key, "first_commit"),
        (BOB.key, "first_test"),
    ]
    again = ledger.record(step(T0 + DAY, 4, ("tests_added", 3)), shared)
    assert again == []
    assert {g.sha for g in ledger.grants} == {first[0].sha}


def test_ledger_totals_add_up_to_the_pet() -> None:
    ledger = Ledger()
    ledger.record(step(T0, 5), credit.credits("Ada", "a@x", "ada", "", 5))
    ledger.record(step(T0 + DAY, -3), credit.credits("Bob", "b@x", None, "", -3))
    ledger.record(
        step(T0 + 2 * DAY, 3), credit.credits("Bob", "b@x", None, "\n\nCo-authored-by: A <a@x>", 3)
    )
    totals = ledger.totals()
    assert [(t.person.name, t.added, t.removed, t.commits) for t in totals] == [
        ("Ada", 6, 0, 2),
        ("Bob", 2, 3, 2),
    ]
    assert sum(t.net for t in totals) == 5
    assert totals[0].best_points == 5
    assert [t.person.name for t in ledger.totals(since=T0 + DAY)] == ["Ada", "Bob"]


@pytest.mark.parametrize("gap_days", [1, 2])
def test_ledger_tracks_thriving_deaths_and_generations(gap_days: int) -> None:
    ledger = Ledger()
    ledger.observe(T0, 100, 1)
    ledger.record(step(T0), [credit.Credit(ADA, "author", 1)])
    ledger.observe(T0 + 10 * DAY, 70, 1)
    assert ledger.pet_past(T0 + 10 * DAY).thriving_since is None
    ledger.observe(T0 + 11 * DAY, 85, 1)
    assert ledger.pet_past(T0 + 11 * DAY).thriving_since == T0 + 11 * DAY
    ledger.died(T0 + 20 * DAY)
    born = T0 + (20 + gap_days) * DAY
    ledger.observe(born, 100, 2)
    pet = ledger.pet_past(born)
    assert (pet.generation, pet.generation_commits, pet.last_death) == (2, 0, T0 + 20 * DAY)
    grants = ledger.record(step(born), [credit.Credit(BOB, "author", 1)])
    assert {"revived", "caught_up"} <= {g.kind.code for g in grants}


def test_a_forecast_that_raises_health_earns_forecaster_once_and_commits_never() -> None:
    assert achievements.forecast_earns(3) is achievements.BY_CODE["forecaster"]
    assert achievements.forecast_earns(0) is None and achievements.forecast_earns(-2) is None
    assert achievements.forecast_earns(5, {"forecaster"}) is None  # granted once
    assert "forecaster" not in codes(step(T0, 30, ("tests_added", 30)))  # only a PR earns it
    assert "replay" in achievements.BY_CODE["forecaster"].description  # it never shows there
