"""FeexPay's wire format, free of I/O (its simulator imports it): paths, the request-to-pay body, the status answer,
the callback's hint, and amounts at the edge.

What is confirmed and what is not (SOURCES.md): FeexPay publishes no API reference that was found. The paths, the
Bearer key, the body's fields, the ``reference`` of the answer and the status words (``SUCCESSFUL``, ``FAILED``,
``PENDING``) are what several independent integrations and community SDKs send and read; the callback's body and any
signature are documented nowhere. So every answer is read tolerantly (the fields under the names integrations have
seen, a wrapping ``data`` object, amounts as numbers or text), and a callback is only ever a hint: the reference it
names is asked of the status endpoint, and only that answer moves money."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from core.money import Money
from payments.base import InvalidCallback

LIVE_HOST: Final = "https://api.feexpay.me"
REQUEST_PATH: Final = "/api/transactions/public/requesttopay/{network}"
STATUS_PATH: Final = "/api/transactions/public/single/status/{reference}"
CURRENCY: Final = "XOF"
MINIMUM_XOF: Final = 50  # FeexPay refuses less (community SDKs, SOURCES.md)
MAXIMUM_XOF: Final = 2_000_000  # ours: above a mobile-money wallet's usual ceiling, so a typo is refused early

SUCCESSFUL: Final = "SUCCESSFUL"
FAILED: Final = "FAILED"
PENDING: Final = "PENDING"
# Words integrations have seen for the same outcomes; anything else is read as still pending (asked again later).
_PAID_WORDS = frozenset({"SUCCESSFUL", "SUCCESS", "SUCCEEDED", "PAID", "COMPLETED"})
_FAILED_WORDS = frozenset({"FAILED", "FAILURE", "REJECTED", "DECLINED", "CANCELLED", "CANCELED", "EXPIRED"})
OUR_REFERENCE: Final = "payment_reference"  # our key inside callback_info, echoed by FeexPay
_MAX_REFERENCE = 128


@dataclass(frozen=True, slots=True)
class Transaction:
    """A request-to-pay as the status endpoint tells it."""

    reference: str  # FeexPay's
    status: str  # SUCCESSFUL, FAILED or PENDING (normalised)
    amount: Money | None
    our_reference: str | None  # ours, from the callback_info FeexPay echoes; None when it echoes none
    message: str | None
    raw: Mapping[str, Any] = field(default_factory=dict)


def amount_out(amount: Money) -> int:
    """XOF has no minor units (``core.money``): the amount FeexPay takes is the minor amount itself."""
    if amount.currency != CURRENCY:
        raise ValueError(f"FeexPay takes XOF, not {amount.currency}")
    return int(amount.major())


def amount_in(value: Any) -> Money | None:
    """What FeexPay says arrived: a whole number of francs, as a number or text; None when absent. A fraction of a
    franc is no XOF amount: refused rather than rounded."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidCallback(f"amount is not a number: {str(value)[:20]!r}") from None
    if number != number.to_integral_value() or number < 0:
        raise InvalidCallback(f"amount is not a whole number of francs: {str(value)[:20]!r}")
    return Money(int(number), CURRENCY)


def request_body(
    *, phone_digits: str, amount: Money, shop_id: str, first_name: str, last_name: str, description: str, ours: str
) -> dict[str, Any]:
    """The request-to-pay's JSON: the phone with its country code and no plus (``22901970000 00``), the amount in
    francs, the shop id, and our payment reference in ``callback_info``, which FeexPay echoes back."""
    return {
        "phoneNumber": phone_digits,
        "amount": amount_out(amount),
        "shop": shop_id,
        "firstName": first_name[:50] or "Client",
        "lastName": last_name[:50] or "-",
        "description": description[:100],
        "callback_info": {OUR_REFERENCE: ours},
    }


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCallback(f"{what} is not JSON") from None


def _inner(data: Any) -> Mapping[str, Any]:
    """The object itself, or the one wrapped in ``data`` / ``transaction`` as some answers are."""
    if not isinstance(data, Mapping):
        raise InvalidCallback("not a JSON object")
    for wrapper in ("data", "transaction"):
        inner = data.get(wrapper)
        if isinstance(inner, Mapping) and ("reference" in inner or "status" in inner):
            return inner
    return data


def _reference(data: Mapping[str, Any]) -> str | None:
    for name in ("reference", "transaction_reference", "transactionReference", "ref"):
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            text = str(value).strip()
            if len(text) > _MAX_REFERENCE or not text.isprintable() or "/" in text:
                raise InvalidCallback("reference is not a FeexPay reference")
            return text
    return None


def parse_started(body: bytes) -> str:
    """The reference of an accepted request-to-pay."""
    reference = _reference(_inner(_json(body, "the answer")))
    if reference is None:
        raise InvalidCallback("the answer names no reference")
    return reference


def error_message(body: bytes) -> str:
    """FeexPay's words in a refusal (``message``), or empty."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(data, Mapping):
        for name in ("message", "error", "detail"):
            value = data.get(name)
            if isinstance(value, str):
                return value
    return ""


def normalise_status(word: Any) -> str:
    text = str(word or "").strip().upper()
    if text in _PAID_WORDS:
        return SUCCESSFUL
    if text in _FAILED_WORDS:
        return FAILED
    return PENDING


def our_reference(value: Any) -> str | None:
    """Our payment reference from the echoed ``callback_info``: an object, the same object as JSON text, or (seen
    in one integration's types) the text alone."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                return None
        else:
            return text[:64] or None
    if isinstance(value, Mapping):
        found = value.get(OUR_REFERENCE)
        return str(found)[:64] if isinstance(found, str | int) and not isinstance(found, bool) else None
    return None


def parse_status(body: bytes) -> Transaction:
    data = _inner(_json(body, "the status answer"))
    reference = _reference(data)
    if reference is None:
        raise InvalidCallback("the status answer names no reference")
    info = data.get("callback_info", data.get("callbackInfo"))
    message = data.get("message")
    return Transaction(
        reference=reference,
        status=normalise_status(data.get("status")),
        amount=amount_in(data.get("amount")),
        our_reference=our_reference(info),
        message=message[:200] if isinstance(message, str) else None,
        raw=dict(data),
    )


def hint_reference(body: bytes) -> str:
    """The FeexPay reference a callback names: all of it that is used. Its status, amount and anything else it says
    are never believed (FeexPay signs nothing: SOURCES.md)."""
    reference = _reference(_inner(_json(body, "the callback")))
    if reference is None:
        raise InvalidCallback("the callback names no reference")
    return reference


def is_test_key(key: str) -> bool:
    """Unconfirmed (SOURCES.md): some integrations' sandbox keys read ``fp_test_…``; the shop's test key is whatever
    it set as such."""
    return key.startswith("fp_test_")
