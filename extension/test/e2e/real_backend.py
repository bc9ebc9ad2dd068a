#!/usr/bin/env python3
"""A real `tamagitto serve` for the extension's end-to-end suite, seeded through its own paths.

It starts a fake GitHub on loopback (tests/fakes: the App side and the OAuth/user side on one
port, every REST request checked against GitHub's OpenAPI description) and `tamagitto serve` in
embedded mode (SQLite in a temporary directory, jobs in-process). Then, through the server's
public doors only:

1. signs a person in: `POST /api/auth/github/initiate`, a code the fake GitHub accepts,
   `POST /api/auth/github/callback` (a real session, nothing minted here);
2. installs the App: a signed `installation.created` webhook, so the repository gets a pet;
3. pushes one commit (a deeply nested function): a signed `push` webhook through the real
   pipeline (commit fetched from the fake, analysed, scored, status posted);
4. waits until `GET /api/entities` shows the pet with that commit's health.

It prints one JSON line, `{"url", "session": {"token", "user", "expires_at"}, "entity"}`, and
then reads commands, one per line, answering each with one JSON line:

- `push`: a second signed push whose commit adds an AWS key (a big negative delta); answers
  `{"health": n}` once `GET /api/entities` shows the new health;
- `stop`: terminates the server (the fake stays up); answers `{"stopped": true, "github_errors"}`
  where `github_errors` lists requests GitHub's OpenAPI description would reject;
- `quit` (or end of input): stops everything and exits.

    uv run --project <repo root> python extension/test/e2e/real_backend.py [--port N]

stdout carries only those JSON lines; progress goes to stderr, the server's log to a file whose
tail is printed when something fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from app.core.config import Settings  # noqa: E402
from app.core.crypto import generate_key  # noqa: E402
from tests.conftest import (  # noqa: E402
    WEBHOOK_SECRET,
    installation_payload,
    push_payload,
    webhook_headers,
)
from tests.fakes.code import NESTED  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.fakes.github_user import CLIENT_ID, CLIENT_SECRET, WRITE, FakeGitHubUser  # noqa: E402

EXTENSION_ID = "mikcojloidckgaoaldimjclbgghjikom"  # the unpacked extension's fixed id
REDIRECT_URI = f"https://{EXTENSION_ID}.chromiumapp.org/oauth"
INSTALLATION = 957387
REPO = "Codertocat/Hello-World"  # the repository of @octokit/webhooks-examples' payloads
REPO_ID = 186853002
LOGIN = "octocat"
BASE = "b" * 40
FIRST, SECOND = "1" * 40, "2" * 40
WAIT = 30.0

UTILS_BEFORE = b'''def add(a, b):
    """Add two numbers."""
    return a + b
'''


def settings_with_key() -> bytes:
    """A settings module with an AWS access key id committed in it.

    The key is made up at run time (AWS's documented example key is a placeholder the analysis
    rightly ignores), so no key-shaped literal sits in this repository.
    """
    key = "AKIA" + secrets.token_hex(8).upper()
    return f'AWS_ACCESS_KEY_ID = "{key}"\nREGION = "eu-west-1"\n'.encode()


def log(message: str) -> None:
    print(f"real_backend: {message}", file=sys.stderr, flush=True)


def reply(message: dict[str, Any]) -> None:
    """One JSON line on stdout: the only thing the node side reads."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the fake GitHub: the App's REST side and the person's OAuth side on one port ----------------


class FakeGitHubSite:
    """FakeGitHub (installations, commits, statuses) and FakeGitHubUser (OAuth, /user…) together.

    Both fakes answer `GET /repos/{owner}/{repo}`: with an installation token it is the App
    asking (FakeGitHub), with a person's token it is a permissions check (FakeGitHubUser).
    """

    def __init__(self) -> None:
        self.app_side = FakeGitHub()
        self.user_side = FakeGitHubUser()
        self.url = ""
        self._runner: web.AppRunner | None = None

    def arrange(self) -> None:
        """One installation with one public Python repository; the person may push to it."""
        self.app_side.add_installation(INSTALLATION, "Codertocat")
        self.app_side.add_repo(
            REPO,
            repo_id=REPO_ID,
            language="Python",
            default_branch="master",
            installation_id=INSTALLATION,
        )
        self.user_side.add_user(LOGIN)
        self.user_side.add_installation(INSTALLATION, "Codertocat")
        self.user_side.add_repo(INSTALLATION, REPO, repo_id=REPO_ID, language="Python")
        self.user_side.grant(LOGIN, REPO_ID, WRITE)

    def make_app(self) -> web.Application:
        users = self.user_side
        app = web.Application()
        app.router.add_post("/login/oauth/access_token", users.access_token)
        app.router.add_get("/user", users.user)
        app.router.add_get("/user/installations", users.user_installations)
        app.router.add_get("/user/installations/{id}/repositories", users.installation_repos)
        app.router.add_get("/repos/{owner}/{repo}", self._repo)
        app.router.add_route("*", "/{tail:.*}", self.app_side._dispatch)
        return app

    async def _repo(self, request: web.Request) -> web.StreamResponse:
        _, _, token = request.headers.get("Authorization", "").partition(" ")
        if token.strip() in self.user_side.tokens:
            return await self.user_side.repo(request)
        return await self.app_side._dispatch(request)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = self.app_side.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def errors(self) -> list[str]:
        """Requests the app made that GitHub's OpenAPI description rejects."""
        return [*self.app_side.errors, *self.user_side.errors]

    def add_commit(
        self, sha: str, parent: str, files: dict[str, tuple[bytes | None, bytes]], message: str
    ) -> None:
        self.app_side.add_change(REPO, sha, parent, dict(files), message=message)


# ---- the real server -----------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child: get SIGTERM if this harness dies, so no server outlives a killed run."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Server:
    """`python -m app serve` (what the `tamagitto serve` script runs), embedded mode."""

    def __init__(self, github_url: str, private_key: str, app_id: int, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.dir = Path(tempfile.mkdtemp(prefix="tamagitto-e2e-"))
        self.log_path = self.dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        settings_names = {str(f.alias) for f in Settings.model_fields.values()}
        env = {k: v for k, v in os.environ.items() if k not in settings_names}
        env.update(
            PYTHONPATH=str(ROOT),
            TAMAGITTO_DATA_DIR=str(self.dir / "data"),
            HOST="127.0.0.1",
            PUBLIC_URL=self.url,
            APP_ID=str(app_id),
            PRIVATE_KEY=private_key,
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            GITHUB_API_URL=github_url,
            GITHUB_URL=github_url,
            GITHUB_CLIENT_ID=CLIENT_ID,
            GITHUB_CLIENT_SECRET=CLIENT_SECRET,
            SESSION_SECRET=secrets.token_hex(32),
            TOKEN_ENCRYPTION_KEYS=f"e2e:{generate_key()}",
            EXTENSION_IDS=EXTENSION_ID,
            LOG_LEVEL=os.environ.get("TAMAGITTO_E2E_LOG_LEVEL", "info"),
        )
        self.env = env

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--port", str(self.port)],
                cwd=self.dir,  # no .env from the repository
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                preexec_fn=_die_with_parent,  # safe: no threads started yet
            )

    async def wait_ready(self, http: aiohttp.ClientSession) -> None:
        async def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"tamagitto serve exited with {self.proc.returncode}")
            try:
                async with http.get(f"{self.url}/readyz") as resp:
                    return resp.status == 200
            except aiohttp.ClientError:
                return False

        await until(ready, "tamagitto serve to answer /readyz", timeout=60)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = WAIT) -> Any:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


# ---- driving the server through its own doors ----------------------------------------------------


class Driver:
    """Webhooks and API calls against the running server."""

    def __init__(self, http: aiohttp.ClientSession, server: Server, github: FakeGitHubSite):
        self.http = http
        self.server = server
        self.github = github
        self.token = ""

    async def deliver(self, event: str, payload: dict[str, Any]) -> None:
        """A signed delivery, as GitHub sends it; the server must accept it (202)."""
        body = json.dumps(payload).encode()
        async with self.http.post(
            f"{self.server.url}/webhook/github", data=body, headers=webhook_headers(event, body)
        ) as resp:
            if resp.status != 202:
                raise RuntimeError(f"{event} webhook answered {resp.status}: {await resp.text()}")

    async def install(self) -> None:
        repo = {"id": REPO_ID, "full_name": REPO, "name": "Hello-World", "private": False}
        await self.deliver("installation", installation_payload(INSTALLATION, [repo]))

    async def push(self, sha: str, before: str, message: str) -> None:
        await self.deliver("push", push_payload([sha], before, INSTALLATION, message=message))

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.http.request(
            method, f"{self.server.url}/api{path}", json=body, headers=headers
        ) as resp:
            data = await resp.json(content_type=None)
            if resp.status != 200:
                raise RuntimeError(f"{method} /api{path} answered {resp.status}: {data}")
            return data

    async def sign_in(self) -> dict[str, Any]:
        """initiate → the code GitHub would append to the redirect → callback."""
        started = await self.api("POST", "/auth/github/initiate", {"redirect_uri": REDIRECT_URI})
        code = self.github.user_side.code_for(LOGIN)
        done = await self.api(
            "POST", "/auth/github/callback", {"code": code, "state": started["state"]}
        )
        self.token = done["session_token"]
        return {
            "token": done["session_token"],
            "user": done["user"],
            "expires_at": done["expires_at"],
        }

    async def pet(self) -> dict[str, Any] | None:
        """The repository's pet as `GET /api/entities` shows it."""
        listing = await self.api("GET", "/entities")
        return next((e for e in listing["entities"] if e["repository"]["full_name"] == REPO), None)

    async def status_posted(self, sha: str) -> bool:
        """The pipeline's last step: a final commit status, or a completed check run (what the
        App posts when the installation granted `checks: write`, as this one did)."""
        app_side = self.github.app_side
        if any(s["sha"] == sha and s.get("state") != "pending" for s in app_side.statuses):
            return True
        return any(run["status"] == "completed" for run in app_side.checks.runs_on(sha))

    async def pushed(
        self, sha: str, before: str, message: str, old: float | None
    ) -> dict[str, Any]:
        """Push one commit; the pet once its status is posted and its health has moved."""
        await self.push(sha, before, message)
        await until(lambda: self.status_posted(sha), f"the commit status for {sha[:7]}")

        async def moved() -> dict[str, Any] | None:
            pet = await self.pet()
            return pet if pet is not None and pet["health_score"] != old else None

        pet: dict[str, Any] = await until(moved, f"the pet's health to change after {sha[:7]}")
        log(f"{pet['name']}: {old} -> {pet['health_score']} after {message!r}")
        return pet


async def seed(driver: Driver) -> dict[str, Any]:
    """A signed-in person, the App installed, one analysed push; returns the ready message."""
    session = await driver.sign_in()
    await driver.install()
    born: dict[str, Any] = await until(driver.pet, "the pet to hatch after the installation")
    message = "add a tangled function"
    driver.github.add_commit(
        FIRST, BASE, {"utils.py": (UTILS_BEFORE, UTILS_BEFORE + b"\n\n" + NESTED)}, message
    )
    entity = await driver.pushed(FIRST, BASE, message, born["health_score"])
    return {"url": driver.server.url, "session": session, "entity": entity}


async def commands(driver: Driver, entity: dict[str, Any]) -> None:
    """Answer `push`, `stop` and `quit` until told to quit or stdin closes."""
    health = entity["health_score"]
    pushed = False
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if line in ("", "quit"):
            return
        if line == "push" and not pushed:
            message = "add deploy settings"
            driver.github.add_commit(
                SECOND, FIRST, {"settings.py": (None, settings_with_key())}, message
            )
            health = (await driver.pushed(SECOND, FIRST, message, health))["health_score"]
            pushed = True
            reply({"health": health})
        elif line == "stop":
            driver.server.stop()
            reply({"stopped": True, "github_errors": driver.github.errors()})
        else:
            reply({"error": f"unknown or repeated command {line!r}"})


async def main(port: int) -> int:
    github = FakeGitHubSite()
    github.arrange()
    await github.start()
    server = Server(github.url, github.app_side.private_key_pem, github.app_side.app_id, port)
    ok = False
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            server.start()
            await server.wait_ready(http)
            log(f"tamagitto serve is up at {server.url} (fake GitHub at {github.url})")
            driver = Driver(http, server, github)
            ready = await seed(driver)
            reply(ready)
            await commands(driver, ready["entity"])
        ok = True
        return 0
    except Exception as exc:
        log(f"failed: {type(exc).__name__}: {exc}")
        log(f"server log ({server.log_path}):\n{server.log_tail()}")
        if github.errors():
            log(f"requests GitHub would reject: {github.errors()}")
        reply({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    finally:
        server.stop()
        await github.stop()
        if ok and not os.environ.get("TAMAGITTO_E2E_KEEP"):
            shutil.rmtree(server.dir, ignore_errors=True)
        else:  # a failed run keeps its directory (and the server log) for a look
            log(f"kept {server.dir}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: free)")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.port or free_port())))
