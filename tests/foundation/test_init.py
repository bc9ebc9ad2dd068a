"""`tamagitto init` and `tamagitto keys new`: secrets without reading the code."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values

from app.core.config import load_settings
from app.core.crypto import Keyring, parse_keys
from app.core.envfile import ensure_secrets
from tests.site.serve import clean_env

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=cwd,
        env=clean_env(PYTHONPATH=str(ROOT), **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_init_writes_both_secrets_0600_and_they_load(tmp_path: Path) -> None:
    proc = run("init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "wrote SESSION_SECRET" in proc.stderr and "wrote TOKEN_ENCRYPTION_KEYS" in proc.stderr
    settings = load_settings(env_file)
    assert settings.session_secret is not None
    assert len(settings.session_secret.get_secret_value()) >= 43
    assert settings.token_encryption_keys is not None
    ring = Keyring(parse_keys(settings.token_encryption_keys.get_secret_value()))
    kid, sealed = ring.encrypt("gho_token")
    assert ring.decrypt(kid, sealed) == "gho_token"


def test_init_never_overwrites(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    key = "old:" + "A" * 43
    env_file.write_text(f'APP_ID=12\nTOKEN_ENCRYPTION_KEYS="{key}"\n# a comment\n')
    env_file.chmod(0o644)
    first = ensure_secrets(env_file, environ={})
    assert (first.written, first.in_file) == (["SESSION_SECRET"], ["TOKEN_ENCRYPTION_KEYS"])
    values = dotenv_values(env_file)
    assert values["TOKEN_ENCRYPTION_KEYS"] == key and values["APP_ID"] == "12"
    assert "# a comment" in env_file.read_text()
    secret = values["SESSION_SECRET"]
    assert secret
    again = ensure_secrets(env_file, environ={})  # run twice: nothing changes
    assert again.written == [] and sorted(again.in_file) == [
        "SESSION_SECRET",
        "TOKEN_ENCRYPTION_KEYS",
    ]
    assert dotenv_values(env_file)["SESSION_SECRET"] == secret
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_an_empty_value_is_missing_and_the_environment_counts(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SESSION_SECRET=\n")
    outcome = ensure_secrets(env_file, environ={"TOKEN_ENCRYPTION_KEYS": "x"})
    assert outcome.written == ["SESSION_SECRET"]
    assert outcome.in_environment == ["TOKEN_ENCRYPTION_KEYS"]
    values = dotenv_values(env_file)
    assert values["SESSION_SECRET"] and "TOKEN_ENCRYPTION_KEYS" not in values
    assert env_file.read_text().count("SESSION_SECRET") == 1


def test_keys_new_prints_one_valid_key(tmp_path: Path) -> None:
    first, second = run("keys", "new", cwd=tmp_path), run("keys", "new", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    line = first.stdout.strip()
    assert first.stdout.count("\n") == 1  # nothing but the key on stdout
    (parsed,) = parse_keys(line)
    assert len(parsed.secret) == 32 and line.startswith(f"{parsed.kid}:")
    assert "rotate-keys" in first.stderr
    # two keys for rotation, newest first, are a valid setting (distinct ids)
    both = f"{second.stdout.strip()},{line}"
    settings = load_settings(None, TOKEN_ENCRYPTION_KEYS=both)
    assert settings.token_encryption_keys is not None
    assert [k.kid for k in parse_keys(both)][1] == parsed.kid
    assert not (tmp_path / ".env").exists()


def test_init_output_names_the_file(tmp_path: Path) -> None:
    proc = run("init", "--env-file", str(tmp_path / "custom.env"), cwd=tmp_path)
    assert proc.returncode == 0
    assert str(tmp_path / "custom.env") in proc.stderr
    assert not (tmp_path / ".env").exists()
