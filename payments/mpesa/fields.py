"""Daraja's field conventions: Nairobi timestamps, the STK password, MSISDNs, amounts, lenient JSON.

Pure functions shared by the wire parsers, the client and the simulator. Parse failures raise
:class:`~payments.base.InvalidCallback` with a reason that names the field.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.money import Money, MoneyError
from core.unicode import holds_lone_surrogate
from payments.base import InvalidCallback


def _nairobi() -> tzinfo:
    try:
        return ZoneInfo("Africa/Nairobi")
    except ZoneInfoNotFoundError:  # no tz database (Windows without tzdata): Kenya has no DST, UTC+3
        return timezone(timedelta(hours=3), "EAT")


NAIROBI = _nairobi()
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
# Daraja refuses callback URLs containing these words in any case (architecture page; reference §A.3.5).
FORBIDDEN_URL_WORDS = ("m-pesa", "mpesa", "safaricom", "query", "sql", "exe", "cmd")
_MSISDN = re.compile(r"^254(?:7\d{8}|1\d{8})$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


# --- time, password, URLs ---


def timestamp(at: datetime) -> str:
    """Daraja's ``Timestamp``: ``YYYYMMDDHHmmss`` in Africa/Nairobi local time."""
    if at.tzinfo is None:
        raise ValueError("timestamp() needs an aware datetime")
    return at.astimezone(NAIROBI).strftime(TIMESTAMP_FORMAT)


def password(shortcode: str | int, passkey: str, timestamp: str) -> str:
    """The STK ``Password``: ``base64(BusinessShortCode + Passkey + Timestamp)``, no separators."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode("ascii")


def parse_time(value: object, what: str = "time") -> datetime:
    """A Daraja ``YYYYMMDDHHmmss`` (integer or string, Nairobi local time) as an aware UTC datetime."""
    text = integral_text(value)
    if text is None or len(text) != 14:
        raise InvalidCallback(f"{what}: {value!r:.40} is not YYYYMMDDHHmmss")
    try:
        local = datetime.strptime(text, TIMESTAMP_FORMAT)
    except ValueError:
        raise InvalidCallback(f"{what}: {value!r:.40} is not a valid date and time") from None
    return local.replace(tzinfo=NAIROBI).astimezone(UTC)


def has_forbidden_word(url: str) -> str | None:
    """The first word Daraja refuses in a callback URL, or None."""
    lowered = url.lower()
    return next((word for word in FORBIDDEN_URL_WORDS if word in lowered), None)


def callback_token() -> str:
    """A random per-payment URL token (160 bits). Hex cannot spell any of ``FORBIDDEN_URL_WORDS``."""
    return secrets.token_hex(20)


# --- phone numbers ---

PayerKind = Literal["msisdn", "hashed", "masked", "other"]


def is_msisdn(value: str) -> bool:
    """``2547XXXXXXXX`` or ``2541XXXXXXXX``: 12 digits, no ``+``."""
    return bool(_MSISDN.match(value))


def hash_msisdn(msisdn: str) -> str:
    """Hex SHA-256 of the 12-digit MSISDN, as C2B notifications reportedly carry it [UNCONFIRMED]."""
    return hashlib.sha256(msisdn.encode()).hexdigest()


def mask_msisdn(msisdn: str) -> str:
    """The masked form of Daraja's docs: ``2547 ***** 126``."""
    return f"{msisdn[:4]} ***** {msisdn[-3:]}"


@dataclass(frozen=True, slots=True)
class Payer:
    """The paying phone as Daraja gave it: plain MSISDN, SHA-256 hash, masked string, or other."""

    value: str
    kind: PayerKind

    @classmethod
    def parse(cls, raw: object) -> Payer | None:
        if raw is None or isinstance(raw, bool):
            return None
        text = integral_text(raw) or str(raw).strip()
        if not text:
            return None
        if is_msisdn(text):
            return cls(text, "msisdn")
        if _SHA256.match(text):
            return cls(text.lower(), "hashed")
        if "*" in text or "x" in text.lower():
            return cls(text, "masked")
        return cls(text, "other")

    def matches(self, msisdn: str) -> bool | None:
        """Whether this payer is ``msisdn``; None when the form cannot tell (a consistent mask, other)."""
        if self.kind == "msisdn":
            return self.value == msisdn
        if self.kind == "hashed":
            return self.value == hash_msisdn(msisdn)
        if self.kind == "masked":
            parts = re.split(r"[*x]+", self.value.replace(" ", "").lower())
            pattern = ".+".join(re.escape(part) for part in parts)
            return None if re.fullmatch(pattern, msisdn) else False
        return None


# --- lenient JSON reads ---


def _no_constant(name: str) -> Any:
    """Python's json reads ``NaN`` and ``Infinity``, which are not JSON (and no JSON column takes): refused."""
    raise ValueError(f"{name} is not JSON")


# A body as it comes: raw bytes or text off the wire, or JSON already decoded.
Body = bytes | str | Mapping[str, Any]


def load_json(body: Body, what: str) -> dict[str, Any]:
    """A JSON object from raw bytes (numbers with a fraction become Decimal), or InvalidCallback."""
    if isinstance(body, Mapping):
        return dict(body)
    try:
        data = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any Daraja body
        raise InvalidCallback(f"{what}: body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidCallback(f"{what}: body is not a JSON object")
    if holds_lone_surrogate(data):  # no Daraja body does; it could be neither stored nor logged
        raise InvalidCallback(f"{what}: body holds text that is not Unicode")
    return data


def get(data: Mapping[str, Any], name: str) -> Any:
    """``data[name]``, falling back to a case-insensitive key match; None when absent."""
    if name in data:
        return data[name]
    folded = name.casefold()
    return next((v for k, v in data.items() if isinstance(k, str) and k.casefold() == folded), None)


def integral_text(value: object) -> str | None:
    """The digits of an int, an integral Decimal/float, or a digit string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        dec = Decimal(str(value))
        # A code, time or phone has a few digits; int() of 1E+999999999 would run for ages.
        if dec.is_finite() and dec.adjusted() < _MAX_DIGITS and dec == dec.to_integral_value():
            return str(int(dec))
        return None
    if isinstance(value, str) and value.strip().isdecimal():
        return value.strip()
    return None


_MAX_DIGITS = 40


def text_field(data: Mapping[str, Any], name: str, what: str, *, required: bool = True) -> str:
    """A string field that may arrive as a number (``BusinessShortCode: 600984``)."""
    value = get(data, name)
    if value is None or isinstance(value, dict | list | bool):
        if required:
            raise InvalidCallback(f"{what}: missing {name}")
        return ""
    text = value.strip() if isinstance(value, str) else integral_text(value) or str(value).strip()
    if required and not text:
        raise InvalidCallback(f"{what}: empty {name}")
    return text


def code_field(data: Mapping[str, Any], name: str, what: str) -> str:
    """A result or response code, integer (``0``) or string (``"0"``, ``"SFC_IC0003"``), as a string."""
    value = get(data, name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    text = integral_text(value)
    if text is None:
        raise InvalidCallback(f"{what}: {name} is missing or not a code: {value!r:.40}")
    return text


def parse_amount(value: object, what: str) -> Decimal:
    """A non-negative decimal from a JSON number or string (``1``, ``1.00``, ``"5.00"``, ``"1,250"``)."""
    if value is None or isinstance(value, bool):
        raise InvalidCallback(f"{what}: missing amount")
    try:
        amount = Decimal(value.replace(",", "").strip()) if isinstance(value, str) else Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidCallback(f"{what}: {value!r:.40} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidCallback(f"{what}: {value!r:.40} is not an amount")
    try:
        Money.from_major(amount, "KES")  # "1e999999" is a finite Decimal, but no amount of money
    except MoneyError:
        raise InvalidCallback(f"{what}: {value!r:.40} is out of range") from None
    return amount


def optional_amount(value: object, what: str) -> Decimal | None:
    """Like :func:`parse_amount`, but absent or blank (``"OrgAccountBalance": ""``) is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_amount(value, what)
