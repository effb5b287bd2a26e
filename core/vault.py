"""The secrets vault: bot tokens and provider credentials encrypted at rest with MultiFernet.

The first key encrypts; every key decrypts, so keys can be rotated: add a new key first, run ``dukabot keys rotate``,
then drop the old one. Without ``DUKABOT_SECRET_KEYS`` a key file is created in the data dir on first run (mode 0600).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultError(Exception):
    pass


class Vault:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise VaultError("at least one Fernet key is needed")
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except (ValueError, TypeError):
            raise VaultError("a secret key is not a valid Fernet key (32 url-safe base64 bytes)") from None

    def __repr__(self) -> str:
        return "Vault(<keys hidden>)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise VaultError("a stored secret cannot be decrypted with the configured keys") from None

    def encrypt_json(self, values: dict[str, Any]) -> str:
        return self.encrypt(json.dumps(values, sort_keys=True))

    def decrypt_json(self, token: str) -> dict[str, Any]:
        loaded = json.loads(self.decrypt(token))
        if not isinstance(loaded, dict):
            raise VaultError("a stored secret bundle is not an object")
        return loaded

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first key (MultiFernet.rotate keeps the original timestamp)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise VaultError("a stored secret cannot be decrypted with the configured keys") from None

    @classmethod
    def from_settings(cls, secret_keys: str | None, key_file: Path) -> Vault:
        if secret_keys:
            return cls([k for k in secret_keys.split(",") if k.strip()])
        return cls(load_or_create_key_file(key_file))


def load_or_create_key_file(path: Path) -> list[str]:
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise VaultError(f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    # O_EXCL: two processes starting at once must not both write a key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return [key]


class Secret:
    """A secret held in memory (an API key, an access token) that no ``repr``, ``str``, f-string or ``vars()`` dump
    shows; ``reveal()`` is the one way to the value, at the single place it is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def mask_secret(value: str | None) -> str:
    """Show that a secret is set and which one it is, never the secret: ``••••••1a2b``."""
    if not value:
        return "(not set)"
    tail = value[-4:] if len(value) >= 12 else ""
    return "••••••" + tail
