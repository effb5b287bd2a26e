"""Readers of a provider's JSON, for the wire modules whose providers say the same things the same way: a body that
must be a JSON object, required and optional text fields, ISO times, and amounts of major units. Each refuses with
InvalidCallback saying ``where`` (the field's path), so a route answers 400 and changes nothing."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from core.money import Money, MoneyError
from core.unicode import holds_lone_surrogate
from payments.base import InvalidCallback


def load_json(body: bytes, where: str = "body") -> Mapping[str, Any]:
    """A JSON object in UTF-8; ``NaN``, ``Infinity`` and lone surrogates are refused (no JSON column takes them)."""
    try:
        decoded = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidCallback(f"{where} is not JSON") from None
    if not isinstance(decoded, Mapping):
        raise InvalidCallback(f"{where} is not a JSON object")
    if holds_lone_surrogate(decoded):
        raise InvalidCallback(f"{where} holds text that is not Unicode")
    return decoded


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def required_text(data: Mapping[str, Any], key: str, where: str) -> str:
    """``data[key]`` as trimmed text (an integer id is read as its digits); InvalidCallback when it is missing."""
    value = data.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidCallback(f"{where}.{key} is missing or not text")


def optional_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def iso_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp (``2024-08-22T09:15:02.000Z``) as an aware UTC datetime, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def amount_in(value: Any, currency: str, where: str) -> Money:
    """An amount of major units (a JSON number or a numeric string) as Money, read through its decimal text, never a
    float's arithmetic; InvalidCallback for anything else, a currency dukabot does not know, more decimals than the
    currency has, or a negative amount."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidCallback(f"{where} is not an amount")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidCallback(f"{where} is not an amount")
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        amount = Money.parse(text, currency)
    except MoneyError as error:
        raise InvalidCallback(f"{where}: {error}") from None
    if amount.minor < 0:
        raise InvalidCallback(f"{where} is negative")
    return amount
