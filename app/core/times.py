"""How instants are written in the JSON that the API, the WebSocket and the site share."""

from __future__ import annotations

from datetime import datetime


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset, or None."""
    return None if value is None else value.isoformat()
