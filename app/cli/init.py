"""`tamagitto init`: write the secrets a server needs to `.env`, so nobody has to read code.

Sessions are signed with SESSION_SECRET and stored GitHub tokens are sealed with
TOKEN_ENCRYPTION_KEYS. `init` writes whichever of the two is missing, in mode 0600, and never
replaces one that exists: a new session secret signs everyone out, and a lost token key makes
every stored token unreadable. The setup wizard's callback runs the same function, so a server
registered through /setup has both too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.core.envfile import Outcome, ensure_secrets

ENV_FILE = Path(".env")


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


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
