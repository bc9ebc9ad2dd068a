"""Settings: defaults, validation listing every problem, secrets kept out of repr and logs."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.core.config import Settings, SettingsError
from app.core.crypto import generate_key
from app.core.logs import configure

ROOT = Path(__file__).resolve().parents[2]


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_defaults_are_embedded(make_settings: Callable[..., Settings]) -> None:
    s = make_settings()
    assert s.embedded
    assert s.port == 3000
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.github_api_url == "https://api.github.com"
    assert s.github_url == "https://github.com"
    assert not s.app_configured


def test_ghe_and_explicit_urls(make_settings: Callable[..., Settings]) -> None:
    ghe = make_settings(GHE_HOST="ghe.example.com", GHE_PROTOCOL="http")
    assert ghe.github_api_url == "http://ghe.example.com/api/v3"
    assert ghe.github_url == "http://ghe.example.com"
    explicit = make_settings(
        GHE_HOST="ghe.example.com", GITHUB_API_URL="http://127.0.0.1:9/", GITHUB_URL="http://x:1"
    )
    assert explicit.github_api_url == "http://127.0.0.1:9"
    assert explicit.github_url == "http://x:1"


def test_postgres_url_gets_asyncpg_driver(make_settings: Callable[..., Settings]) -> None:
    s = make_settings(DATABASE_URL="postgresql://u:pw@db:5432/t", REDIS_URL="redis://r:6379/0")
    assert s.database_url == "postgresql+asyncpg://u:pw@db:5432/t"
    assert not s.embedded


def test_escaped_private_key_is_accepted(make_settings: Callable[..., Settings]) -> None:
    pem = _pem()
    s = make_settings(APP_ID="123", PRIVATE_KEY=pem.replace("\n", "\\n"), WEBHOOK_SECRET="w")
    assert s.private_key_pem == pem
    assert s.app_configured


def test_every_problem_is_listed(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(SettingsError) as info:
        make_settings(
            APP_ID="twelve",
            WEBHOOK_SECRET="whsec",
            PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\\nnope\\n-----END RSA PRIVATE KEY-----",
            GITHUB_API_URL="not a url",
            REDIS_URL="http://nope",
            PORT="99999",
        )
    text = str(info.value)
    assert len(info.value.problems) == 5, info.value.problems
    for name in ("APP_ID", "PRIVATE_KEY", "GITHUB_API_URL", "REDIS_URL", "PORT"):
        assert name in text
    assert info.value.exit_code == 2


def test_contradictory_key_settings(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    pem = _pem()
    key_file.write_text(pem)
    with pytest.raises(SettingsError, match="not both"):
        make_settings(PRIVATE_KEY=pem, PRIVATE_KEY_PATH=str(key_file))
    assert make_settings(PRIVATE_KEY_PATH=str(key_file)).private_key_pem == pem


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"APP_ID": "1"}, ["APP_ID is set without WEBHOOK_SECRET"]),
        ({"GITHUB_CLIENT_ID": "Iv1.x", "SESSION_SECRET": "s"}, ["without GITHUB_CLIENT_SECRET"]),
        ({"GITHUB_CLIENT_ID": "Iv1.x", "GITHUB_CLIENT_SECRET": "c"}, ["without SESSION_SECRET"]),
        (
            {"GITHUB_CLIENT_ID": "Iv1.x"},
            ["without GITHUB_CLIENT_SECRET", "without SESSION_SECRET"],
        ),
    ],
)
def test_settings_that_cannot_work(
    make_settings: Callable[..., Settings], env: dict[str, str], expected: list[str]
) -> None:
    with pytest.raises(SettingsError) as info:
        make_settings(**env)
    assert len(info.value.problems) == len(expected), info.value.problems
    for problem, fragment in zip(info.value.problems, expected, strict=True):
        assert fragment in problem


def test_consistent_settings_start(make_settings: Callable[..., Settings]) -> None:
    s = make_settings(
        APP_ID="1",
        WEBHOOK_SECRET="w",
        GITHUB_CLIENT_ID="c",
        GITHUB_CLIENT_SECRET="x",
        SESSION_SECRET="s",
    )
    assert s.app_id == 1 and s.github_client_id == "c"
    # The session key can also come from the App's private key (app/core/keyring.py).
    pem = _pem()
    derived = make_settings(GITHUB_CLIENT_ID="c", GITHUB_CLIENT_SECRET="x", PRIVATE_KEY=pem)
    assert derived.session_secret is None


def test_contradictions_listed_with_invalid_values(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    key_file = tmp_path / "key.pem"
    pem = _pem()
    key_file.write_text(pem)
    with pytest.raises(SettingsError) as info:
        make_settings(
            PORT="0",
            APP_ID="7",
            GITHUB_CLIENT_ID="Iv1.x",
            PRIVATE_KEY=pem,
            PRIVATE_KEY_PATH=str(key_file),
        )
    text = str(info.value)
    assert len(info.value.problems) == 4, info.value.problems
    for fragment in ("PORT", "WEBHOOK_SECRET", "GITHUB_CLIENT_SECRET", "not both"):
        assert fragment in text


def test_trusted_proxies_parse(make_settings: Callable[..., Settings]) -> None:
    s = make_settings(TRUSTED_PROXIES="10.0.0.0/8, 192.0.2.7 fd00::/8")
    assert [str(n) for n in s.trusted_networks] == ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"]
    assert make_settings().trusted_networks == ()
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        make_settings(TRUSTED_PROXIES="10.0.0.0/8,caddy")


def test_secrets_never_in_repr(make_settings: Callable[..., Settings]) -> None:
    secret = "whsec-very-secret-value"
    s = make_settings(
        WEBHOOK_SECRET=secret,
        GEMINI_API_KEY="AIzaFakeGeminiKey123",
        DATABASE_URL="postgresql://u:dbpassword99@h/db",
        SESSION_SECRET="session-secret-xyz",
    )
    text = repr(s) + str(s)
    for value in (secret, "AIzaFakeGeminiKey123", "dbpassword99", "session-secret-xyz"):
        assert value not in text


def test_secrets_masked_in_logs(make_settings: Callable[..., Settings]) -> None:
    key = generate_key()
    s = make_settings(
        WEBHOOK_SECRET="whsec-logged-by-mistake",
        TOKEN_ENCRYPTION_KEYS=f"k1:{key}",
        DATABASE_URL="postgresql://u:dbpassword99@h/db",
    )
    stream = io.StringIO()
    configure(s, stream=stream)
    try:
        logging.getLogger("t").warning(
            "oops %s %s %s", "whsec-logged-by-mistake", key, "dbpassword99"
        )
    finally:
        configure(Settings(_env_file=None))  # type: ignore[call-arg]
    out = stream.getvalue()
    assert "oops" in out
    for value in ("whsec-logged-by-mistake", key, "dbpassword99"):
        assert value not in out


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=4321\nLOG_FORMAT=json\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "LOG_FORMAT")}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from app.core.config import load_settings; s=load_settings()\n"
            "print(s.port, s.log_format)",
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["4321", "json"]


def test_cli_exits_2_listing_problems(tmp_path: Path) -> None:
    env = {**os.environ, "APP_ID": "abc", "GITHUB_URL": "ftp://x", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "app", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "APP_ID" in proc.stderr and "GITHUB_URL" in proc.stderr
    assert "Traceback" not in proc.stderr
