"""The session secret and the token keyring, for the API (they live in `app.core.keyring`)."""

from __future__ import annotations

from app.core.keyring import DERIVED_KID, keyring, session_secret

__all__ = ["DERIVED_KID", "keyring", "session_secret"]
