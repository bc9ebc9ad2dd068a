"""Notification webhook secrets through the API: admins only, encrypted, never shown back."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.care_models import NotifySecret
from app.core.crypto import Keyring, parse_keys
from app.core.models import Repository
from app.jobs import notify_secrets
from app.jobs.notify_config import Target
from app.jobs.repo_config import parse_config
from tests.api.conftest import bearer, new_key, seed_repo, sign_in
from tests.api.test_openapi import Checked
from tests.fakes.github_user import ADMIN, WRITE, FakeGitHubUser

DB = async_sessionmaker[AsyncSession]
SLACK = "https://hooks.slack.com/services/T0001/B0002/abcdefghijklmnop"


async def test_admins_store_list_and_delete_secrets_and_urls_never_come_back(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    call = Checked(client)
    seeded = await seed_repo(db, github, "acme/pets", private=True)
    github.add_user("root")
    github.grant("root", seeded.github_id, ADMIN)
    admin = bearer((await sign_in(client, github, "root"))["session_token"])
    base = f"/api/repositories/{seeded.github_id}/notify-secrets"
    status, stored = await call(
        "PUT", f"{base}/Team-Pets", json={"kind": "slack", "url": SLACK}, headers=admin
    )
    assert status == 200 and stored["created"] and stored["secret"]["name"] == "team-pets"
    assert stored["secret"]["hint"] == "…mnop" and SLACK not in str(stored)
    again = SLACK.replace("abcdef", "zzzzzz")
    status, replaced = await call(
        "PUT", f"{base}/team-pets", json={"kind": "slack", "url": again}, headers=admin
    )
    assert status == 200 and not replaced["created"] and replaced["secret"]["hint"] == "…mnop"
    status, listing = await call("GET", base, headers=admin)
    assert status == 200 and [s["name"] for s in listing["secrets"]] == ["team-pets"]
    assert "hooks.slack.com" not in str(listing)
    async with db() as session:
        row = await session.scalar(select(NotifySecret))
    assert row is not None and b"hooks.slack.com" not in row.ciphertext
    status, _ = await call("DELETE", f"{base}/team-pets", headers=admin)
    assert status == 200
    assert (await call("DELETE", f"{base}/team-pets", headers=admin))[0] == 404


async def test_only_admins_and_only_webhook_urls(
    client: TestClient, github: FakeGitHubUser, db: DB
) -> None:
    call = Checked(client)
    seeded = await seed_repo(db, github, "acme/pets", private=False)
    github.add_user("dev")
    github.grant("dev", seeded.github_id, WRITE)
    writer = bearer((await sign_in(client, github, "dev"))["session_token"])
    base = f"/api/repositories/{seeded.github_id}/notify-secrets"
    status, refused = await call(
        "PUT", f"{base}/team", json={"kind": "slack", "url": SLACK}, headers=writer
    )
    assert status == 403 and refused["error"] == "insufficient_permissions"
    assert (await call("GET", base, headers=writer))[0] == 403
    github.add_user("root")
    github.grant("root", seeded.github_id, ADMIN)
    admin = bearer((await sign_in(client, github, "root"))["session_token"])
    for body in (
        {"kind": "slack", "url": "https://evil.example.com/services/x"},
        {"kind": "slack", "url": "http://hooks.slack.com/services/x"},
        {"kind": "discord", "url": SLACK},
        {"kind": "slack", "url": "http://169.254.169.254/latest/meta-data"},
    ):
        status, bad = await call("PUT", f"{base}/team", json=body, headers=admin)
        assert status == 400 and bad["details"]["parameter"] == "url", body
    assert (await call("PUT", f"{base}/-bad-", json={"kind": "slack", "url": SLACK},
                       headers=admin))[0] == 400  # fmt: skip
    assert (await call("GET", "/api/repositories/999/notify-secrets", headers=admin))[0] == 404


def test_the_config_names_secrets_and_refuses_urls() -> None:
    good = parse_config(b"notify:\n  slack: [team-pets, Ops]\n  discord: room\n  digest: false\n")
    assert good.valid and good.notify_targets == ("slack:team-pets", "slack:ops", "discord:room")
    assert good.notify_digest is False and good.notify_states is True
    leaked = parse_config(f"notify:\n  slack: {SLACK}\n".encode())
    assert not leaked.valid and leaked.notify_targets == ()
    assert "not a URL" in leaked.errors[0] and "notify-secrets" in leaked.errors[0]
    assert SLACK not in str(leaked.as_dict())
    assert parse_config(b"caretakers: off\n").caretakers is False
    assert parse_config(b"caretakers: maybe\n").errors == ("`caretakers` must be `on` or `off`",)
    assert not parse_config(b"notify: [team]\n").valid
    named = parse_config(b"notify:\n  discord: discord-room\n  slack: http-alerts\n")
    assert named.valid and named.notify_targets == ("slack:http-alerts", "discord:discord-room")
    assert not parse_config(b"notify:\n  slack: hooks.slack.com/services/T/B/x\n").valid


def test_urls_are_checked_per_kind() -> None:
    assert notify_secrets.check_url("slack", SLACK) == SLACK
    discord = "https://discord.com/api/webhooks/1/abc"
    assert notify_secrets.check_url("discord", discord) == discord
    local = "http://127.0.0.1:8080/anything"
    assert notify_secrets.check_url("slack", local, frozenset({"127.0.0.1"})) == local


async def test_rotate_keys_re_encrypts_notification_secrets(db: DB) -> None:
    old, new = new_key("k1"), new_key("k9")
    before, after = Keyring(parse_keys(old)), Keyring(parse_keys(f"{new},{old}"))
    async with db.begin() as session:
        repo = Repository(github_id=77, full_name="acme/keys", owner_login="acme")
        session.add(repo)
        await session.flush()
        await notify_secrets.store(session, before, repo.id, "team", "slack", SLACK, None)
    assert await notify_secrets.rotate_secrets(db, after, dry_run=True) == (1, 0, 0)
    assert await notify_secrets.rotate_secrets(db, after) == (1, 0, 0)
    assert await notify_secrets.rotate_secrets(db, after) == (0, 1, 0)
    async with db() as session:
        row = await session.scalar(select(NotifySecret))
        assert row is not None and row.key_id == "k9"
        assert (
            await notify_secrets.url_for(session, after, repo.id, Target("slack", "team")) == SLACK
        )
        assert (
            await notify_secrets.url_for(session, before, repo.id, Target("slack", "team")) is None
        )
