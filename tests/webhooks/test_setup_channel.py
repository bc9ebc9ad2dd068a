"""/setup on a laptop: a loopback PUBLIC_URL is flagged, and a channel can be made for it."""

from __future__ import annotations

import html
import json
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.config import Settings
from app.web.factory import init_app
from app.web.setup_wizard import next_step
from tests.fakes.smee import FakeSmee
from tests.site.serve import start_server, stop_server, wait_ready_async


@pytest.fixture
async def smee(aiohttp_server: Any) -> FakeSmee:
    fake = FakeSmee()
    server = await aiohttp_server(fake.make_app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


def hook_url(page: str) -> str:
    """The webhook URL in the manifest the form would send to GitHub."""
    found = re.search(r'name="manifest" value="([^"]*)"', page)
    assert found is not None
    return str(json.loads(html.unescape(found.group(1)))["hook_attributes"]["url"])


def page_state(page: str) -> str:
    found = re.search(r'id="channel-form".*?name="state" value="([^"]*)"', page, re.DOTALL)
    assert found is not None, "no channel form"
    return html.unescape(found.group(1))


async def wizard(aiohttp_client: Any, settings: Settings) -> Any:
    return await aiohttp_client(init_app(settings, run_jobs=False))


async def test_public_address_has_no_warning(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await wizard(aiohttp_client, make_settings(PUBLIC_URL="https://pets.example.com"))
    page = await (await client.get("/setup")).text()
    assert 'id="proxy-notice"' not in page
    assert hook_url(page) == "https://pets.example.com/webhook/github"


async def test_loopback_warns_and_creates_a_channel(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    smee: FakeSmee,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LOG_LEVEL=debug\n")
    settings = make_settings(WEBHOOK_PROXY_NEW_URL=f"{smee.url}/new")  # PUBLIC_URL: localhost
    client = await wizard(aiohttp_client, settings)
    page = await (await client.get("/setup")).text()
    assert "GitHub cannot reach this address" in page
    assert "http://localhost:3000" in page
    assert hook_url(page) == "http://localhost:3000/webhook/github"

    forged = await client.post("/setup/channel", data={"state": "forged"})
    assert forged.status == 400 and smee.created == []

    made = await client.post(
        "/setup/channel", data={"state": page_state(page)}, allow_redirects=False
    )
    assert (made.status, made.headers["Location"]) == (303, "/setup")
    channel = f"{smee.url}/{smee.created[0]}"
    after = await (await client.get("/setup")).text()
    assert hook_url(after) == channel
    assert f'<code id="proxy-url">{html.escape(channel)}</code>' in after
    env_file = tmp_path / ".env"
    assert f'WEBHOOK_PROXY_URL="{channel}"' in env_file.read_text()
    assert "LOG_LEVEL=debug" in env_file.read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    restarted = Settings(_env_file=str(env_file))  # type: ignore[call-arg]
    assert restarted.webhook_proxy_url == channel


async def test_channel_service_without_a_channel_says_so(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    smee: FakeSmee,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    # a channel's web page answers 200 with HTML, not a redirect to a channel
    settings = make_settings(WEBHOOK_PROXY_NEW_URL=f"{smee.url}/not-new")
    client = await wizard(aiohttp_client, settings)
    page = await (await client.get("/setup")).text()
    resp = await client.post("/setup/channel", data={"state": page_state(page)})
    assert resp.status == 200 and resp.url.query.get("channel") == "failed"
    text = await resp.text()
    assert 'role="alert"' in text and "did not answer with a channel" in text
    assert not (tmp_path / ".env").exists()


async def test_configured_proxy_is_the_manifests_webhook(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(WEBHOOK_PROXY_URL="https://smee.io/abc<def")
    page = await (await (await wizard(aiohttp_client, settings)).get("/setup")).text()
    assert hook_url(page) == "https://smee.io/abc<def"
    assert "https://smee.io/abc&lt;def" in page and "abc<def" not in page  # escaped
    assert "GitHub cannot reach this address" not in page


def test_next_step_lines(make_settings: Callable[..., Settings], app_env: dict[str, str]) -> None:
    assert next_step(make_settings()) == (
        "tamagitto: next step: open http://localhost:3000/setup to register the App"
    )
    public = make_settings(**app_env)  # PUBLIC_URL http://tamagitto.test
    assert next_step(public) == (
        "tamagitto: GitHub delivers webhooks to http://tamagitto.test/webhook/github"
    )
    laptop = make_settings(**{**app_env, "PUBLIC_URL": "http://127.0.0.1:3000"})
    assert "cannot reach: set PUBLIC_URL or WEBHOOK_PROXY_URL" in next_step(laptop)
    relayed = make_settings(**{**app_env, "WEBHOOK_PROXY_URL": "https://smee.io/abc"})
    assert next_step(relayed).startswith(
        "tamagitto: GitHub delivers webhooks to https://smee.io/abc;"
    )


async def test_serve_prints_the_setup_step(tmp_path: Path) -> None:
    proc, base = start_server(tmp_path, TAMAGITTO_DATA_DIR=str(tmp_path / "d"))
    try:
        await wait_ready_async(base, proc)
    finally:
        stop_server(proc)
    log = (tmp_path / "serve.log").read_text()
    assert f"tamagitto: next step: open {base}/setup to register the App" in log
