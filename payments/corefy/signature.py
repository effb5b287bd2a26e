"""Corefy's two proofs of who is speaking, free of I/O (the simulator imports it): HTTP Basic on every request to the
private API (the commerce account's id, ``coma_…``, as user, its API key as password), and ``X-Signature`` on every
callback: base64 of the raw SHA-1 digest of ``secret + body + secret``, under the account's live or test secret key,
after the mode the operation was made in (SOURCES.md). Sign and check the bytes exactly as they travel."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

SIGNATURE_HEADER: Final = "x-signature"


def basic_auth(account_id: str, api_key: str) -> str:
    """The ``Authorization`` header's value: ``Basic base64(account id:API key)``."""
    return "Basic " + base64.b64encode(f"{account_id}:{api_key}".encode()).decode()


def credentials(header: str) -> tuple[str, str] | None:
    """The account id and key of a Basic ``Authorization`` header (the simulator reads it); None when it is not one."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def sign(body: bytes, secret: str) -> str:
    """``X-Signature``: base64 of the raw SHA-1 digest of the secret, the raw body and the secret again."""
    if not secret:
        raise ValueError("a secret key is required to sign")
    return base64.b64encode(hashlib.sha1(secret.encode() + body + secret.encode()).digest()).decode()  # noqa: S324


def is_signed(body: bytes, headers: Mapping[str, str], secrets: tuple[str, ...]) -> bool:
    """Whether ``X-Signature`` is the signature of the raw body under one of the shop's secret keys (its live and
    test ones: a payment started before the shop switched is signed with the key of its mode), compared in constant
    time; a missing or non-ASCII header is simply wrong."""
    given = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not given or not given.isascii():
        return False
    return any(hmac.compare_digest(given.encode(), sign(body, secret).encode()) for secret in secrets if secret)
