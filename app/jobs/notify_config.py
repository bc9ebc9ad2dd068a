"""`notify:` and `caretakers:` in `.github/tamagitto.yml`, checked like every other key.

Webhook URLs are secrets, and the file lives in the repository, so `notify:` only names
secrets an admin stored through the API (`PUT /api/repositories/{id}/notify-secrets/{name}`,
encrypted like user tokens). A URL written in the file is refused with an error that says
where it belongs instead, so it is never used, stored or shown.

```yaml
caretakers: off          # hide caretakers, streaks and achievements everywhere (default: on)
notify:
  slack: team-pets       # one name or a list of names of stored secrets
  discord: [pet-room]
  states: true           # healthy → okay, dying, death, revival (default: true)
  digest: true           # the weekly digest on Mondays (default: true)
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from app.read.caretakers import shown

KINDS: Final = ("slack", "discord")
MAX_TARGETS: Final = 5
SECRET_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
NOTIFY_KEYS: Final = (*KINDS, "states", "digest")
STORE_HINT: Final = (
    "store the URL with `PUT /api/repositories/{id}/notify-secrets/{name}` and name it here instead"
)
NOTIFY_ERROR: Final = (
    "`notify` must be a mapping with `slack` and/or `discord` (names of stored secrets), "
    "and optionally `states` and `digest` (true or false)"
)


@dataclass(frozen=True, slots=True)
class Target:
    """One destination: a kind of incoming webhook and the name of the secret holding its URL."""

    kind: str
    secret: str

    @property
    def key(self) -> str:
        """`slack:team-pets`: how the outbox names the destination."""
        return f"{self.kind}:{self.secret}"

    @classmethod
    def parse(cls, key: str) -> Target | None:
        """A `key` back into a target (None when it is not one)."""
        kind, _, secret = key.partition(":")
        return cls(kind, secret) if kind in KINDS and SECRET_NAME.match(secret) else None


def check_caretakers(value: Any, errors: list[str]) -> bool:
    """`caretakers: on|off` (YAML reads both as booleans)."""
    if value in (True, False):
        return bool(value)
    if value in ("on", "off"):
        return bool(value == "on")
    errors.append("`caretakers` must be `on` or `off`")
    return True


def _names(kind: str, value: Any, errors: list[str]) -> list[str]:
    """The secret names given for one kind; a URL is an error that says where it belongs."""
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        text = str(item).strip() if isinstance(item, str) else ""
        if "/" in text or "://" in text:  # names hold no slash; URLs always do
            errors.append(f"`notify.{kind}` takes the name of a stored secret, not a URL: "
                          f"{STORE_HINT}")  # fmt: skip
            return []
        if not SECRET_NAME.match(text.lower()):
            errors.append(f"`notify.{kind}` names must be 1 to 64 letters, digits, `-`, `_`, `.`")
            return []
        names.append(text.lower())
    return names


def _flag(value: Any, key: str, errors: list[str]) -> bool:
    if not isinstance(value, bool):
        errors.append(f"`notify.{key}` must be true or false")
        return True
    return value


def check_notify(value: Any, errors: list[str]) -> tuple[tuple[str, ...], bool, bool]:
    """(target keys, states, digest) from `notify:`; nothing (and an error) when invalid."""
    if not isinstance(value, dict) or set(value) - set(NOTIFY_KEYS):
        errors.append(NOTIFY_ERROR)
        return (), True, True
    targets: list[str] = []
    for kind in KINDS:
        if kind in value:
            targets += [Target(kind, name).key for name in _names(kind, value[kind], errors)]
    if len(set(targets)) > MAX_TARGETS:
        errors.append(f"`notify` names at most {MAX_TARGETS} secrets")
    states = _flag(value.get("states", True), "states", errors)
    digest = _flag(value.get("digest", True), "digest", errors)
    return tuple(dict.fromkeys(targets)), states, digest


def targets_of(config: dict[str, Any] | None) -> list[Target]:
    """The destinations of a stored config (`RepoConfig.as_dict()`), valid ones only."""
    keys = (config or {}).get("notify_targets") or []
    return [t for t in (Target.parse(str(k)) for k in keys) if t is not None]


def caretakers_on(config: dict[str, Any] | None) -> bool:
    """Does a stored config show caretakers (the default), or hide them (`caretakers: off`)?"""
    return shown(config)


__all__ = [
    "KINDS",
    "Target",
    "caretakers_on",
    "check_caretakers",
    "check_notify",
    "targets_of",
]
