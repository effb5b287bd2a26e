"""Stripe's webhook signatures (``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]``). Pure: the simulator signs
with :func:`sign`.

The signed payload is ``t + "." + raw body``; ``v1`` is its HMAC-SHA256 under the endpoint's secret (``whsec_…``),
hex. Several ``v1`` appear while a secret is rolled, so every one is tried against every secret we hold; ``v0`` and
other schemes are ignored. A ``t`` more than 300 seconds from now is refused (the official libraries' default
tolerance), so a captured delivery cannot be replayed later. Compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime

from payments.base import InvalidCallback

SIGNATURE_HEADER = "stripe-signature"
TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The ``v1`` hex signature of ``body`` at ``timestamp``."""
    payload = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def header(body: bytes, secrets: Iterable[str], timestamp: int) -> str:
    """A whole ``Stripe-Signature`` header: one ``v1`` per secret, as Stripe sends while a secret is rolled."""
    return ",".join([f"t={timestamp}", *(f"v1={sign(body, secret, timestamp)}" for secret in secrets)])


def _parts(value: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in value.split(","):
        key, _, given = item.strip().partition("=")
        if key == "t" and given.isdigit() and len(given) <= 12:
            timestamp = int(given)
        elif key == "v1" and given:
            signatures.append(given.strip().lower())
    return timestamp, signatures


def verify(body: bytes, headers: Mapping[str, str], secrets: Iterable[str], now: datetime) -> None:
    """Raise InvalidCallback (401) unless one ``v1`` of the header signs ``body`` under one of ``secrets``, at a
    time within the tolerance of ``now``."""
    value = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "")
    timestamp, given = _parts(value)
    if timestamp is None or not given:
        raise InvalidCallback("missing or unreadable Stripe-Signature", status=401)
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        raise InvalidCallback("Stripe-Signature timestamp outside the tolerance", status=401)
    expected = [sign(body, secret, timestamp) for secret in secrets if secret]
    matched = False
    for candidate in given:  # every pair is compared: the time taken says nothing about which one matched
        if candidate.isascii():
            for each in expected:
                matched |= hmac.compare_digest(each, candidate)
    if not matched:
        raise InvalidCallback("bad Stripe-Signature", status=401)
