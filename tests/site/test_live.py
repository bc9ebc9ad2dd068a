"""A webhook-driven update changes an open pet page live, end to end, in a real browser.

GitHub is the fake on loopback (tests/fakes/github.py). `tamagitto serve` runs in embedded mode
with the App's settings pointing at it. The test installs the App (installation webhook),
opens the pet page in headless Chromium, pushes a commit (push webhook), and the page must
change without a reload: the in-process job analyses the commit through the fake GitHub,
publishes on the bus, and the public WebSocket carries it to the page.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import (
    STATUS_ONLY_PERMISSIONS,
    installation_payload,
    push_payload,
    webhook_headers,
)
from tests.fakes.code import NESTED
from tests.fakes.github import FakeGitHub
from tests.site.serve import (
    ROOT,
    RUNNER,
    require_browser_tools,
    start_server,
    stop_server,
    wait_ready_async,
)

INSTALLATION = 957387
REPO = "Codertocat/Hello-World"  # the webhook examples' repository
REPO_ID = 186853002
BASE_SHA = "b" * 40
SHA = "5" * 40


async def deliver(http: aiohttp.ClientSession, base: str, event: str, payload: Any) -> None:
    """Send a signed webhook to the server, as GitHub does."""
    body = json.dumps(payload).encode()
    async with http.post(
        f"{base}/webhook/github", data=body, headers=webhook_headers(event, body)
    ) as resp:
        assert resp.status == 202, await resp.text()


async def public_pet(http: aiohttp.ClientSession, base: str, timeout: float = 30) -> Any:
    """The public API's view of the pet, once the installation job created it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with http.get(f"{base}/api/public/pets/{REPO}") as resp:
            if resp.status == 200:
                return await resp.json()
        assert asyncio.get_running_loop().time() < deadline, "the pet was never created"
        await asyncio.sleep(0.25)


def installation_created() -> Any:
    """installation.created for one public Python repository."""
    repo = {"id": REPO_ID, "full_name": REPO, "name": "Hello-World", "private": False}
    return installation_payload(INSTALLATION, [repo], STATUS_ONLY_PERMISSIONS)


def push() -> Any:
    """A push of one commit to the default branch."""
    return push_payload([SHA], BASE_SHA, INSTALLATION, message="add a tangled function")


async def open_page(base: str) -> asyncio.subprocess.Process:
    """Start the browser's live check; returns once the page's socket is connected."""
    node = await asyncio.create_subprocess_exec(
        "node", str(RUNNER), "live", base, f"/pets/{REPO}", SHA,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert node.stdout is not None
    line = await asyncio.wait_for(node.stdout.readline(), 60)
    if line.strip() != b"ready":
        rest = await node.communicate()
        raise AssertionError(f"browser never got ready: {line!r} {rest!r}")
    return node


async def test_push_webhook_updates_the_open_pet_page(
    fake_github: FakeGitHub, app_env: dict[str, str], tmp_path: Path
) -> None:
    require_browser_tools()
    fake_github.add_installation(INSTALLATION, "Codertocat")
    fake_github.add_repo(
        REPO, repo_id=REPO_ID, language="Python", default_branch="master",
        installation_id=INSTALLATION,
    )  # fmt: skip
    data = tmp_path / "data"
    data.mkdir()
    proc, base = start_server(tmp_path, TAMAGITTO_DATA_DIR=str(data), **app_env)
    try:
        await wait_ready_async(base, proc)
        async with aiohttp.ClientSession() as http:
            await deliver(http, base, "installation", installation_created())
            born = await public_pet(http, base)
            assert born["entity"]["health_score"] == 100
            node = await open_page(base)
            fake_github.add_change(
                REPO, SHA, BASE_SHA, {"tangle.py": (None, NESTED)}, message="add a tangled function"
            )
            await deliver(http, base, "push", push())
            out, err = await asyncio.wait_for(node.communicate(), 120)
            assert node.returncode == 0, err.decode()
            result = json.loads(out.decode().strip().splitlines()[-1])
            now = await public_pet(http, base)
    finally:
        stop_server(proc)
    entity = now["entity"]
    assert entity["health_score"] < 100  # the tangled function cost health
    before, after = result["before"], result["after"]
    assert before["health"] == "100" and before["shas"] == [] and before["points"] == 0
    assert after["health"] == str(entity["health_score"])
    assert after["state"].lower() == entity["state"]
    assert after["bar"] == str(entity["health_score"])
    assert after["shas"][0] == SHA
    assert after["points"] == 1
    assert after["announced"]
    assert result["sameDocument"], "the page reloaded instead of updating live"
    assert result["consoleErrors"] == [] and result["cspViolations"] == []
    assert result["foreignRequests"] == []
    assert any(s["sha"] == SHA for s in fake_github.statuses)
