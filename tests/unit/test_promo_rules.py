"""A promo code's rules on their own: the discount in minor units (rounding stated in core/promos.py) and each
refusal, in the order a customer is told them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.db.tables import Order, OrderItem
from core.money import Money
from core.promos import AMOUNT, PERCENT, Line, Refusal, Rules, discount, normalize, refusal
from payments.telegram.chat import charged

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
RICE = Line("GRO-RICE-2KG", "Groceries", 42_000, 3)  # KES 1,260
SOAP = Line("HSE-SOAP-800", "Household", 12_000, 1)  # KES 120


def rules(**changes: object) -> Rules:
    base: dict[str, object] = {
        "kind": PERCENT,
        "value": 10,
        "currency": "KES",
        "skus": [],
        "categories": [],
        "min_order_minor": 0,
        "starts_at": None,
        "ends_at": None,
        "max_uses": None,
        "per_customer": None,
        "uses": 0,
        "status": "active",
    }
    return Rules(**{**base, **changes})  # type: ignore[arg-type]


def test_a_percentage_is_rounded_down_to_a_whole_shilling() -> None:
    assert discount(rules(value=10), [Line("A", "C", 12_550, 1)]) == 1_200  # 10 % of KES 125.50 is KES 12
    assert discount(rules(value=10), [RICE, SOAP]) == 13_800


def test_a_limit_to_products_or_categories_counts_only_their_lines() -> None:
    assert discount(rules(value=50, categories=["Household"]), [RICE, SOAP]) == 6_000
    assert discount(rules(value=50, skus=["GRO-RICE-2KG"]), [RICE, SOAP]) == 63_000
    assert discount(rules(kind=AMOUNT, value=50_000, skus=["HSE-SOAP-800"]), [RICE, SOAP]) == 12_000


def test_a_discount_always_leaves_one_shilling_to_pay() -> None:
    assert discount(rules(value=100), [SOAP]) == 11_900
    assert discount(rules(kind=AMOUNT, value=1_000_000), [SOAP]) == 11_900
    assert discount(rules(kind=AMOUNT, value=500), [Line("A", "C", 100, 1)]) == 0
    assert refusal(rules(kind=AMOUNT, value=500), [Line("A", "C", 100, 1)], NOW, 0) is Refusal.NO_ELIGIBLE


@pytest.mark.parametrize(
    ("changes", "customer_uses", "why"),
    [
        ({"status": "paused"}, 0, Refusal.PAUSED),
        ({"status": "ended"}, 0, Refusal.ENDED),
        ({"starts_at": NOW + timedelta(seconds=1)}, 0, Refusal.NOT_STARTED),
        ({"ends_at": NOW}, 0, Refusal.EXPIRED),
        ({"max_uses": 3, "uses": 3}, 0, Refusal.USED_UP),
        ({"per_customer": 1}, 1, Refusal.PER_CUSTOMER),
        ({"min_order_minor": 138_001}, 0, Refusal.MINIMUM),
        ({"categories": ["Electronics"]}, 0, Refusal.NO_ELIGIBLE),
        ({"starts_at": NOW, "ends_at": NOW + timedelta(seconds=1), "max_uses": 3, "uses": 2}, 0, None),
        ({"min_order_minor": 138_000, "per_customer": 2}, 1, None),
    ],
)
def test_each_refusal(changes: dict[str, object], customer_uses: int, why: Refusal | None) -> None:
    assert refusal(rules(**changes), [RICE, SOAP], NOW, customer_uses) is why


@pytest.mark.parametrize(
    ("typed", "code"),
    [(" karibu10 ", "KARIBU10"), ("Save-5_x", "SAVE-5_X"), ("ab", None), ("no way", None), ("X" * 33, None)],
)
def test_codes_are_case_insensitive_and_plain(typed: str, code: str | None) -> None:
    assert normalize(typed) == code


def test_a_stars_invoice_takes_the_discount_in_proportion_rounded_up_to_a_whole_star() -> None:
    order = Order(total_minor=113_400, discount_minor=12_600, currency="KES")  # KES 1,260 less 10 %
    order.items = [OrderItem(sku="GRO-RICE-2KG", name="Rice", unit_price_minor=42_000, quantity=3)]
    assert charged({"invoices": "stars", "stars_prices": "GRO-RICE-2KG=333"}, order) == Money(900, "XTR")  # 899.1
    assert charged({"invoices": "card"}, order) == Money(113_400, "KES")
    order.discount_minor = 0
    assert charged({"invoices": "stars", "stars_prices": "GRO-RICE-2KG=333"}, order) == Money(999, "XTR")
