"""AES-256-GCM encryption of stored user tokens, with key ids so keys can rotate."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


@dataclass(frozen=True, repr=False)
class Key:
    """One 256-bit key and the short id stored beside every ciphertext it made."""

    kid: str
    secret: bytes

    def __repr__(self) -> str:
        return f"Key(kid={self.kid!r}, secret=<redacted>)"


def _decode(material: str) -> bytes:
    """Keys are base64 (standard or url-safe) of exactly 32 bytes."""
    padded = material + "=" * (-len(material) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (ValueError, TypeError):
        raise ValueError("a key is not valid base64") from None
    if len(raw) != 32:
        raise ValueError(f"a key must decode to 32 bytes (AES-256), got {len(raw)}")
    return raw


def parse_keys(text: str) -> list[Key]:
    """Parse `kid:base64,…` or bare base64 keys, newest first; bare keys get a hash id."""
    keys: list[Key] = []
    for item in text.replace(" ", ",").split(","):
        item = item.strip()
        if not item:
            continue
        kid, sep, material = item.partition(":")
        if not sep:
            kid, material = "", item
        secret = _decode(material)
        keys.append(Key(kid or hashlib.sha256(secret).hexdigest()[:8], secret))
    if not keys:
        raise ValueError("no keys given")
    if len({k.kid for k in keys}) != len(keys):
        raise ValueError("key ids must be unique")
    return keys


def generate_key() -> str:
    """A fresh key in the format parse_keys reads (for docs and tests)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def new_key_entry(today: date | None = None) -> str:
    """A fresh `kid:base64key` entry for TOKEN_ENCRYPTION_KEYS.

    The id carries the day it was made, so a person rotating keys can tell the new one from
    the old at a glance, plus random hex so two keys made the same day never share an id.
    """
    day = (today or datetime.now(UTC).date()).strftime("%Y%m%d")
    return f"k{day}-{os.urandom(3).hex()}:{generate_key()}"


class Keyring:
    """Encrypts with the newest key and decrypts with whichever key a row names."""

    def __init__(self, keys: list[Key]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._keys = {k.kid: k for k in keys}
        self.current = keys[0]

    def encrypt(self, plaintext: str, *, aad: bytes = b"") -> tuple[str, bytes]:
        """Return (key id, nonce + ciphertext); aad binds the ciphertext to its owner row."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.current.secret).encrypt(nonce, plaintext.encode(), aad)
        return self.current.kid, nonce + sealed

    def decrypt(self, kid: str, blob: bytes, *, aad: bytes = b"") -> str:
        """Raise KeyError for an unknown key id, InvalidTag for tampering."""
        key = self._keys[kid]
        return AESGCM(key.secret).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad).decode()

    def needs_rotation(self, kid: str) -> bool:
        """True when a row was sealed with an older key."""
        return kid != self.current.kid
