"""A promo code's rules: whether it applies to a cart now, and the discount it gives, in integer minor units.

Rounding: a percentage is taken of the eligible lines and rounded *down* to a whole major unit of the currency
(10 % of KES 125.00 is KES 12, not KES 12.50), so that a total in whole shillings stays whole for the providers that
take whole units only (M-Pesa). A fixed amount is never more than the eligible lines. Whatever the code, the total
after it is never below one major unit of the currency (KES 1, XOF 1): no order is free, and an amount a provider
refuses as too small is explained by the payment menu as for any order.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.clock import utc
from core.money import exponent

PERCENT = "percent"
AMOUNT = "amount"
ACTIVE, PAUSED, ENDED = "active", "paused", "ended"
STATUSES = (ACTIVE, PAUSED, ENDED)
# Letters, digits, "-" and "_": what fits a Telegram deep link (``/start promo_CODE``) and is easy to type.
CODE = re.compile(r"^[A-Z0-9_-]{3,32}$")
DEEP_LINK_PREFIX = "promo_"


class Refusal(enum.StrEnum):
    """Why a code does not apply; each is a catalog key ``promo.refused.<value>``."""

    UNKNOWN = "unknown"
    OTHER_SHOP = "other_shop"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    PAUSED = "paused"
    ENDED = "ended"
    USED_UP = "used_up"
    PER_CUSTOMER = "per_customer"
    MINIMUM = "minimum"
    NO_ELIGIBLE = "no_eligible"


def normalize(typed: str) -> str | None:
    """The code as stored (upper case), or None when ``typed`` cannot be a code at all."""
    code = typed.strip().upper()
    return code if CODE.match(code) else None


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    category: str
    unit_minor: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Rules:
    """What of a code decides whether it applies (the columns of ``PromoCode``)."""

    kind: str
    value: int
    currency: str
    skus: Sequence[str]
    categories: Sequence[str]
    min_order_minor: int
    starts_at: datetime | None
    ends_at: datetime | None
    max_uses: int | None
    per_customer: int | None
    uses: int
    status: str


def refusal(rules: Rules, lines: Sequence[Line], now: datetime, customer_uses: int) -> Refusal | None:
    """Why the code does not apply to these cart lines now, or None when it does."""
    if rules.status == PAUSED:
        return Refusal.PAUSED
    if rules.status == ENDED:
        return Refusal.ENDED
    if rules.starts_at is not None and now < utc(rules.starts_at):  # SQLite gives them back naive
        return Refusal.NOT_STARTED
    if rules.ends_at is not None and now >= utc(rules.ends_at):
        return Refusal.EXPIRED
    if rules.max_uses is not None and rules.uses >= rules.max_uses:
        return Refusal.USED_UP
    if rules.per_customer is not None and customer_uses >= rules.per_customer:
        return Refusal.PER_CUSTOMER
    if sum(line.unit_minor * line.quantity for line in lines) < rules.min_order_minor:
        return Refusal.MINIMUM
    if discount(rules, lines) == 0:
        return Refusal.NO_ELIGIBLE
    return None


def eligible(rules: Rules, line: Line) -> bool:
    if not rules.skus and not rules.categories:
        return True
    return line.sku in rules.skus or line.category in rules.categories


def discount(rules: Rules, lines: Sequence[Line]) -> int:
    """The discount in minor units (see the module's rounding), 0 when no line is eligible."""
    subtotal: int = sum(line.unit_minor * line.quantity for line in lines)
    base: int = sum(line.unit_minor * line.quantity for line in lines if eligible(rules, line))
    unit: int = 10 ** exponent(rules.currency)
    off = base * rules.value // 100 // unit * unit if rules.kind == PERCENT else min(rules.value, base)
    return max(0, min(off, subtotal - unit))
