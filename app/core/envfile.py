"""The `.env` file: merge settings into it and generate the secrets a server needs.

Both `tamagitto init` and the setup wizard's callback write here, so the file and its
mode 0600 are handled in one place, below the command line and the web app alike.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from app.core.crypto import new_key_entry


def new_session_secret() -> str:
    """384 random bits, URL-safe, for HS256 session tokens."""
    return secrets.token_urlsafe(48)


GENERATORS: dict[str, Callable[[], str]] = {
    "SESSION_SECRET": new_session_secret,
    "TOKEN_ENCRYPTION_KEYS": new_key_entry,
}


@dataclass
class Outcome:
    """What `ensure_secrets` did, by setting name."""

    written: list[str] = field(default_factory=list)
    in_file: list[str] = field(default_factory=list)
    in_environment: list[str] = field(default_factory=list)


def ensure_secrets(path: Path, environ: Mapping[str, str] | None = None) -> Outcome:
    """Write each missing secret to the .env at `path`; leave every existing one alone.

    A secret counts as existing when the file or the environment gives it a non-empty value
    (the environment wins over .env, so writing one there would only mislead). The file ends
    up readable by its owner only, whether or not anything was written.
    """
    env = os.environ if environ is None else environ
    values = {k: v for k, v in dotenv_values(path).items() if v} if path.exists() else {}
    outcome = Outcome()
    missing: dict[str, str] = {}
    for name, generate in GENERATORS.items():
        if env.get(name):
            outcome.in_environment.append(name)
        elif name in values:
            outcome.in_file.append(name)
        else:
            missing[name] = generate()
    if missing:
        write_env(path, missing)
        outcome.written = list(missing)
    elif path.exists():
        os.chmod(path, 0o600)
    return outcome


def write_env(path: Path, values: dict[str, str]) -> None:
    """Merge the credentials into .env, readable by its owner only (it holds a private key)."""
    kept = []
    if path.exists():
        kept = [
            line
            for line in path.read_text().splitlines()
            if line.split("=", 1)[0].strip() not in values
        ]
    lines = kept + [f"{key}={_quote(value)}" for key, value in values.items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)


def _quote(value: str) -> str:
    """One line per setting: newlines in the PEM become `\\n` (Probot's convention)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
