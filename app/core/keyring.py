"""Where the session secret and the token keyring come from (every floor that seals or opens a
secret reads them here: the API for user tokens, jobs for notification webhooks).

Both come from settings (`SESSION_SECRET`, `TOKEN_ENCRYPTION_KEYS`). When one is unset, a key is
derived with HKDF from the App's private key, so a self-hosted App that went through the setup
wizard can sign people in right away, the same in every process and across restarts. Setting the
variables explicitly is still the better choice: rotating the App key would otherwise sign
everyone out and make stored tokens unreadable (people then simply sign in again).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.core.config import Settings
from app.core.crypto import Key, Keyring, parse_keys

DERIVED_KID = "app"


def _derive(settings: Settings, purpose: bytes) -> bytes | None:
    """32 bytes bound to the App's private key and a purpose label, or None without a key."""
    pem = settings.private_key_pem
    if not pem:
        return None
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"tamagitto", info=purpose)
    return hkdf.derive(pem.encode())


def session_secret(settings: Settings) -> bytes | None:
    """The HS256 key for session JWTs and OAuth state."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    return _derive(settings, b"session-jwt")


def keyring(settings: Settings) -> Keyring | None:
    """Configured keys newest first; the derived key stays readable so rotation can leave it."""
    keys: list[Key] = []
    if settings.token_encryption_keys is not None:
        keys = parse_keys(settings.token_encryption_keys.get_secret_value())
    derived = _derive(settings, b"token-encryption")
    if derived is not None and all(k.kid != DERIVED_KID for k in keys):
        keys.append(Key(DERIVED_KID, derived))
    return Keyring(keys) if keys else None
