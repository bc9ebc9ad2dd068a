"""`.github/tamagitto.yml` the Probot way: the owner's `.github` repository, `_extends` in both
forms, caching by blob sha, and the new keys validated like the others."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from app.core.config import Settings
from app.infra.github import GitHubApp
from app.jobs import config_files
from app.jobs.repo_config import KEYS, load_config, parse_config
from tests.fakes.github import FakeGitHub

INST = 31
OWNER = "octo-org"
REPO = f"{OWNER}/app"
PATH = ".github/tamagitto.yml"
SHA = "9" * 40


@pytest.fixture
async def gh(
    fake_github: FakeGitHub, make_settings: Callable[..., Settings], app_env: dict[str, str]
) -> AsyncIterator[Any]:
    """An installation client on the fake GitHub, with the org's repositories."""
    fake_github.add_installation(INST, OWNER)
    for name in ("app", ".github", "shared", "other"):
        fake_github.add_repo(f"{OWNER}/{name}", installation_id=INST)
    async with aiohttp.ClientSession() as session:
        yield GitHubApp(make_settings(**app_env), session).installation_client(INST)


def put(fake: FakeGitHub, repo: str, text: bytes, path: str = PATH, ref: str = "main") -> None:
    fake.contents[(repo, ref, path)] = text


async def test_org_github_repository_applies_when_the_repository_has_no_file(
    gh: Any, fake_github: FakeGitHub
) -> None:
    put(fake_github, f"{OWNER}/.github", b"context: org-pets\nfail_below: 20\n")
    config = await load_config(gh, REPO, SHA)
    assert (config.context, config.fail_below, config.valid) == ("org-pets", 20, True)
    later = "8" * 40  # a later commit adds the repository's own file: it wins, whole
    put(fake_github, REPO, b"name: Mochi\n", ref=later)
    own = await load_config(gh, REPO, later)
    assert (own.name, own.context, own.fail_below) == ("Mochi", "tamagitto", None)


async def test_extends_both_forms_merge_the_base_under_own_keys(
    gh: Any, fake_github: FakeGitHub
) -> None:
    put(fake_github, f"{OWNER}/.github", b"_extends: shared\ncontext: org-pets\n")
    put(fake_github, f"{OWNER}/shared", b"_extends: octo-org/other:base/pets.yml\nfail_below: 30\n")
    put(fake_github, f"{OWNER}/other", b"fail_below: 90\nannotations: 5\nreport: both\n",
        path="base/pets.yml")  # fmt: skip
    config = await load_config(gh, REPO, SHA)
    assert config.valid, config.errors
    assert (config.context, config.fail_below, config.annotations, config.report) == (
        "org-pets", 30, 5, "both",
    )  # fmt: skip
    assert not config.warnings  # `_extends` is not an unknown key


async def test_extends_problems_leave_the_defaults_with_a_reason(
    gh: Any, fake_github: FakeGitHub
) -> None:
    put(fake_github, REPO, b"_extends: missing\nfail_below: 10\n", ref=SHA)
    config = await load_config(gh, REPO, SHA)
    assert not config.valid and config.fail_below is None
    assert "octo-org/missing:.github/tamagitto.yml was not found" in config.errors[0]
    second, third = "7" * 40, "6" * 40  # each state of the file is a commit of its own
    put(fake_github, REPO, b"_extends: shared\n", ref=second)
    put(fake_github, f"{OWNER}/shared", b"_extends: octo-org/app\n")
    put(fake_github, REPO, b"_extends: shared\n")  # app's default branch extends shared again
    looped = await load_config(gh, REPO, second)
    assert any("comes back" in e or "deeper" in e for e in looped.errors), looped.errors
    put(fake_github, REPO, b"_extends: [not, a, name]\n", ref=third)
    assert (await load_config(gh, REPO, third)).errors == (config_files.EXTENDS_ERROR,)


async def test_each_blob_is_parsed_once(
    gh: Any, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(fake_github, REPO, b"context: cached-once\n", ref=SHA)
    calls: list[Any] = []
    real = config_files.yaml.safe_load
    monkeypatch.setattr(config_files.yaml, "safe_load", lambda text: calls.append(1) or real(text))
    first = await load_config(gh, REPO, SHA)
    second = await load_config(gh, REPO, SHA)
    assert first is second and first.context == "cached-once" and len(calls) <= 1


def test_new_keys_are_validated_like_the_others() -> None:
    assert {"report", "comment", "annotations"} <= set(KEYS)
    good = parse_config(b"report: status\ncomment: on_change\nannotations: off\n")
    assert (good.report, good.comment, good.annotations, good.valid) == (
        "status",
        "on_change",
        0,
        True,
    )
    assert parse_config(b"comment: off\n").comment == "off"  # YAML reads off as false
    assert parse_config(b"annotations: 200\n").annotations == 200
    bad = parse_config(b"report: email\ncomment: always\nannotations: 501\n")
    assert not bad.valid and len(bad.errors) == 3
    assert (bad.report, bad.comment, bad.annotations) == (None, "off", 50)
