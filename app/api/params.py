"""Parameter parsing that answers 400 naming the parameter, never 500 on odd input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.api.errors import invalid

MAX_ID = 2**63 - 1  # BIGINT: larger values would fail in the database, not here


def int_value(raw: Any, name: str, low: int, high: int) -> int:
    """An integer within bounds (strings of digits accepted, booleans refused)."""
    if isinstance(raw, bool):
        raise invalid(name, f"`{name}` must be an integer.")
    if isinstance(raw, str):
        text = raw.strip()
        if not text.lstrip("-").isdigit() or len(text) > 20:
            raise invalid(name, f"`{name}` must be an integer.")
        raw = int(text)
    if not isinstance(raw, int):
        raise invalid(name, f"`{name}` must be an integer.")
    if not low <= raw <= high:
        raise invalid(
            name, f"`{name}` must be between {low} and {high}.", minimum=low, maximum=high
        )
    return raw


def query_int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An optional integer query parameter."""
    if name not in query:
        return default
    return int_value(query[name], name, low, high)


def query_enum(query: Mapping[str, str], name: str, default: str, allowed: Sequence[str]) -> str:
    """An optional query parameter from a fixed set."""
    value = query.get(name, default)
    if value not in allowed:
        raise invalid(
            name, f"`{name}` must be one of: {', '.join(allowed)}.", allowed=list(allowed)
        )
    return value


def path_id(match_info: Mapping[str, str], name: str) -> int:
    """A positive id from the path."""
    return int_value(match_info[name], name, 1, MAX_ID)


def printable(value: str, max_length: int) -> bool:
    """Storable text: no control characters, valid UTF-8, not too long.

    PostgreSQL refuses NUL and lone surrogates with an error, so they are refused here first.
    """
    if not value or len(value) > max_length or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
