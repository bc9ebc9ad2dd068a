"""`tamagitto init`: write the secrets a server needs to `.env`, so nobody has to read code.

Sessions are signed with SESSION_SECRET and stored GitHub tokens are sealed with
TOKEN_ENCRYPTION_KEYS. `init` writes whichever of the two is missing, in mode 0600, and never
replaces one that exists: a new session secret signs everyone out, and a lost token key makes
every stored token unreadable. The setup wizard's callback runs the same function, so a server
registered through /setup has both too.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from app.crypto import new_key_entry

ENV_FILE = Path(".env")


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
        from app.setup_wizard import write_env

        write_env(path, missing)
        outcome.written = list(missing)
    elif path.exists():
        os.chmod(path, 0o600)
    return outcome


def report(outcome: Outcome, path: Path) -> str:
    """One readable line per secret, for the terminal."""
    lines = [f"wrote {name} to {path} (mode 0600)" for name in outcome.written]
    lines += [f"kept {name}: already in {path}" for name in outcome.in_file]
    lines += [f"kept {name}: set in the environment" for name in outcome.in_environment]
    return "\n".join(f"tamagitto: {line}" for line in lines)


def cmd_init(args: argparse.Namespace) -> int:
    """Entry point of `tamagitto init`."""
    path = Path(args.env_file)
    outcome = ensure_secrets(path)
    print(report(outcome, path), file=sys.stderr)
    print(
        "tamagitto: next, run `tamagitto serve` and open /setup to register the App",
        file=sys.stderr,
    )
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `init`."""
    parser = sub.add_parser(
        "init",
        help="write missing SESSION_SECRET and TOKEN_ENCRYPTION_KEYS to .env",
        description=(
            "Generate SESSION_SECRET (signs sessions) and TOKEN_ENCRYPTION_KEYS (seals stored "
            "GitHub tokens) when they are missing, and write them to .env with mode 0600. An "
            "existing value, in the file or in the environment, is never replaced. Safe to "
            "run again."
        ),
    )
    parser.add_argument(
        "--env-file", default=str(ENV_FILE), help="the file to write (default: ./.env)"
    )
    parser.set_defaults(func=cmd_init)
