"""The manifest flow against the fake GitHub: register, write .env 0600, then close."""

from __future__ import annotations

import hashlib
import html
import json
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.core.config import Settings
from app.web.factory import init_app
from app.web.setup_wizard import manifest
from tests.fakes.github import FakeGitHub, make_private_key

ROOT = Path(__file__).resolve().parents[2]


def test_app_yml_declares_what_the_app_needs() -> None:
    doc = yaml.safe_load((ROOT / "app.yml").read_text())
    assert set(doc["default_events"]) >= {
        "installation",
        "installation_repositories",
        "push",
        "repository",
        "meta",
        "github_app_authorization",
        "pull_request",
        "check_run",
        "check_suite",
    }
    assert doc["default_permissions"] == {
        "metadata": "read",
        "contents": "read",
        "statuses": "write",
        "checks": "write",
        "pull_requests": "read",
    }
    for key in (
        "name",
        "description",
        "url",
        "hook_attributes",
        "callback_urls",
        "setup_url",
        "public",
    ):
        assert key in doc


def test_manifest_points_at_public_url(make_settings: Callable[..., Settings]) -> None:
    data = manifest(
        make_settings(PUBLIC_URL="https://pets.example.com", EXTENSION_IDS="abc,pets@example.org")
    )
    assert data["hook_attributes"]["url"] == "https://pets.example.com/webhook/github"
    assert data["redirect_url"] == "https://pets.example.com/setup/callback"
    assert "https://abc.chromiumapp.org/" in data["callback_urls"]
    firefox = (
        "https://" + hashlib.sha1(b"pets@example.org").hexdigest() + ".extensions.allizom.org/"
    )
    assert firefox in data["callback_urls"]


async def test_manifest_flow(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    fake_github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LOG_LEVEL=debug\nAPP_ID=\n")
    settings = make_settings(
        GITHUB_API_URL=fake_github.url,
        GITHUB_URL=fake_github.url,
        PUBLIC_URL="https://pets.example.com",
    )
    client = await aiohttp_client(init_app(settings, run_jobs=False))
    page = await client.get("/setup")
    assert page.status == 200
    text = await page.text()
    assert f'action="{fake_github.url}/settings/apps/new' in text or fake_github.url in text
    assert "form-action 'self' " + fake_github.url in page.headers["Content-Security-Policy"]
    value = re.search(r'name="manifest"[^>]*value="([^"]*)"', text) or re.search(
        r'value="([^"]*)"[^>]*name="manifest"', text
    )
    assert value is not None
    sent = json.loads(html.unescape(value.group(1)))
    assert sent["hook_attributes"]["url"] == "https://pets.example.com/webhook/github"
    state = re.search(r'name="state"[^>]*value="([^"]*)"', text) or re.search(
        r"state=([\w-]+)", text
    )
    assert state is not None
    pem, _ = make_private_key()
    fake_github.manifests["code-123"] = {
        "id": 9001,
        "slug": "tamagitto-test",
        "pem": pem,
        "webhook_secret": "whsec",
        "client_id": "Iv1.abc",
        "client_secret": "shh",
        "html_url": "https://gh/apps/t",
        "node_id": "A_x",
        "name": "Tamagitto",
        "owner": {"login": "me"},
    }
    bad = await client.get("/setup/callback", params={"code": "code-123", "state": "forged"})
    assert bad.status == 400
    done = await client.get(
        "/setup/callback", params={"code": "code-123", "state": html.unescape(state.group(1))}
    )
    assert done.status == 200 and "tamagitto-test" in await done.text()
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    written = env_file.read_text()
    assert "LOG_LEVEL=debug" in written and 'APP_ID="9001"' in written
    assert 'WEBHOOK_SECRET="whsec"' in written and "GITHUB_CLIENT_SECRET" in written
    assert "BEGIN PRIVATE KEY" in written and written.count("\n") == 8
    reloaded = Settings(_env_file=str(env_file))  # type: ignore[call-arg]
    assert reloaded.app_id == 9001 and reloaded.private_key_pem == pem
    # the callback ran `tamagitto init`'s function: sessions and token sealing work on restart
    assert reloaded.session_secret is not None and reloaded.token_encryption_keys is not None
    assert (await client.get("/setup")).status == 404
    assert fake_github.calls("apps/create-from-manifest")


async def test_wizard_is_closed_once_configured(
    aiohttp_client: Any, make_settings: Callable[..., Settings], app_env: dict[str, str]
) -> None:
    client = await aiohttp_client(init_app(make_settings(**app_env), run_jobs=False))
    assert (await client.get("/setup")).status == 404
    assert (await client.get("/setup/callback", params={"code": "x"})).status == 404
