"""A real `tamagitto serve` subprocess for the browser tests, and the node runner around it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
RUNNER = Path(__file__).resolve().parent / "browser" / "run.mjs"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
NODE_TIMEOUT = 120


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any Tamagitto setting, plus `extra`."""
    names = {str(field.alias) for field in Settings.model_fields.values()}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Poll /healthz until the server answers; fail early if it exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tamagitto serve exited with {proc.returncode}")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} did not become ready in {timeout}s")


def start_server(workdir: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start `tamagitto serve` on a free port in `workdir` (so no stray .env is read)."""
    port = free_port()
    with (workdir / "serve.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port)],
            cwd=workdir,
            env=clean_env(HOST="127.0.0.1", LOG_LEVEL="warning", **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc, f"http://127.0.0.1:{port}"


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it hangs."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def serve(workdir: Path, **env: str) -> Iterator[str]:
    """A running server for the duration of the block; yields its base URL."""
    proc, base = start_server(workdir, **env)
    try:
        wait_ready(base, proc)
        yield base
    finally:
        stop_server(proc)


async def wait_ready_async(
    base_url: str, proc: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    """`wait_ready` without blocking the event loop (fake servers in it keep answering)."""
    import asyncio

    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"tamagitto serve exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{base_url}/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{base_url} did not become ready in {timeout}s")


def ensure_node_modules() -> bool:
    """Install site/'s npm packages (playwright-core, lighthouse) from the lockfile if missing.

    The project's own files must install what its tests need, so a fresh clone works.
    """
    if (SITE / "node_modules" / "playwright-core").is_dir():
        return True
    if shutil.which("npm") is None:
        return False
    proc = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
        cwd=SITE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode == 0 and (SITE / "node_modules" / "playwright-core").is_dir()


def require_browser_tools() -> None:
    """Node, Chromium and site/node_modules, or a clear skip saying how to install them.

    Under `./scripts/test` (which installs them and sets TAMAGITTO_TEST_STRICT=1) and under
    `CI=true`, a missing tool fails instead: the suite must not pass by skipping.
    """
    problem = None
    if shutil.which("node") is None:
        problem = "node is not installed (apt-get install -y nodejs npm)"
    elif not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing: apt-get install -y chromium"
    elif not ensure_node_modules():
        problem = "site/node_modules is missing and `cd site && npm ci` failed"
    if problem is None:
        return
    strict = (os.environ.get(name, "").lower() for name in ("TAMAGITTO_TEST_STRICT", "CI"))
    if any(value in ("1", "true", "yes") for value in strict):
        pytest.fail(problem)
    pytest.skip(problem)


def run_check(name: str, base_url: str, *args: str) -> dict[str, Any]:
    """Run one browser check and return its JSON result."""
    proc = subprocess.run(
        ["node", str(RUNNER), name, base_url, *args],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise AssertionError(f"browser check {name} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
