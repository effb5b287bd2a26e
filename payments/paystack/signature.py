"""Paystack webhook signatures: ``x-paystack-signature`` is the lowercase hex HMAC-SHA512 of the raw body.

The key is the merchant's secret key (``sk_test_…``/``sk_live_…``); there is no separate webhook secret.
Always sign and check the bytes exactly as they travel: re-serialised JSON does not match."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from payments.base import InvalidCallback

SIGNATURE_HEADER = "x-paystack-signature"


def sign(body: bytes, secret_key: str) -> str:
    """The signature Paystack puts in ``x-paystack-signature`` for ``body``."""
    if not secret_key:
        raise ValueError("a secret key is required to sign")
    return hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()


def is_valid(body: bytes, signature: str | None, secret_key: str) -> bool:
    """True when ``signature`` is the HMAC-SHA512 of ``body`` under ``secret_key`` (constant-time compare)."""
    if not signature or not secret_key:
        return False
    expected = sign(body, secret_key)
    given = signature.strip().lower()
    # compare_digest wants ASCII on both sides for str; a non-ASCII header is simply wrong.
    if not given.isascii():
        return False
    return hmac.compare_digest(expected, given)


def header_value(headers: Mapping[str, str]) -> str | None:
    """The signature header from a mapping whose key case is unknown (web frameworks differ)."""
    value = headers.get(SIGNATURE_HEADER)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == SIGNATURE_HEADER:
            return candidate
    return None


def require_valid(body: bytes, headers: Mapping[str, str], secret_key: str) -> None:
    """Raise InvalidCallback (401) unless the request carries a correct signature for ``body``."""
    signature = header_value(headers)
    if not signature:
        raise InvalidCallback("missing x-paystack-signature header", status=401)
    if not is_valid(body, signature, secret_key):
        raise InvalidCallback("bad x-paystack-signature", status=401)
