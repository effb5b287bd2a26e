"""PayPal's pure parts: amounts as PayPal's decimal strings (no decimals for HUF, JPY, TWD), the shop's conversion,
the token cache's refresh, and tolerant reading of orders and webhooks."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from core.clock import FakeClock
from core.money import Money, MoneyError
from payments.base import InvalidCallback
from payments.paypal import INFO
from payments.paypal.conversion import Conversion, charged
from payments.paypal.currencies import NO_DECIMALS, USABLE, AmountNotAllowed, check_amount, money_of
from payments.paypal.tokens import PayPalTokens
from payments.paypal.wire import parse_order, parse_webhook, reference_of, transmission


def test_paypal_takes_of_dukabots_currencies_usd_only_and_knows_its_whole_unit_currencies() -> None:
    assert USABLE == ("USD",) and [limits.currency for limits in INFO.currencies] == ["USD"]
    assert {"HUF", "JPY", "TWD"} == NO_DECIMALS
    assert check_amount(Money(1155, "USD")) == "11.55"
    with pytest.raises(AmountNotAllowed) as refused:
        check_amount(Money(42000, "KES"))
    assert refused.value.code == "currency_not_supported"


def test_an_amount_from_paypal_is_exact_or_refused() -> None:
    assert money_of("3.23", "USD") == Money(323, "USD")
    assert money_of("420", "USD") == Money(42000, "USD")
    for value, currency in (("3.231", "USD"), ("1500", "JPY"), ("abc", "USD"), (3.23, "USD")):
        with pytest.raises(MoneyError):
            money_of(value, currency)


def test_a_conversion_rounds_half_up_to_cents_and_only_applies_to_a_currency_paypal_does_not_take() -> None:
    options = {"conversion_currency": "USD", "conversion_rate": "0.0077"}
    assert charged(options, Money(42000, "KES")) == Money(323, "USD")  # 3.234
    assert charged(options, Money(50000, "KES")) == Money(385, "USD")  # 3.85 exactly
    assert charged({**options, "conversion_rate": "0.00775"}, Money(100, "KES")) == Money(1, "USD")  # 0.00775 -> 0.01
    assert charged(options, Money(1000, "USD")) is None  # PayPal takes it as it is
    assert charged({}, Money(42000, "KES")) is None  # no conversion: not offered
    assert charged({"conversion_currency": "USD", "conversion_rate": "-1"}, Money(42000, "KES")) is None
    assert Conversion("USD", Decimal("0.0077")).describe("KES") == "1 KES = 0.0077 USD"


async def test_a_token_is_fetched_once_and_again_before_it_expires() -> None:
    clock, fetched = FakeClock(), []

    async def fetch() -> tuple[str, int]:
        fetched.append(clock.now())
        await asyncio.sleep(0)
        return f"token-{len(fetched)}", 3600

    tokens = PayPalTokens(clock)
    key = ("https://api-m.paypal.com", "client", "digest")
    assert await asyncio.gather(*(tokens.get(key, fetch) for _ in range(5))) == ["token-1"] * 5
    clock.advance(minutes=54)
    assert await tokens.get(key, fetch) == "token-1"
    clock.advance(minutes=1)  # five minutes before it expires
    assert await tokens.get(key, fetch) == "token-2"
    tokens.invalidate(key)
    assert await tokens.get(key, fetch) == "token-3" and len(fetched) == 3


def test_an_order_is_read_tolerantly() -> None:
    order = parse_order(
        {
            "id": "5O190127TN364715T",
            "status": "COMPLETED",
            "links": [{"href": "https://www.paypal.com/checkoutnow?token=5O1", "rel": "payer-action"}],
            "purchase_units": [
                {
                    "invoice_id": "ref-1",
                    "amount": {"currency_code": "USD", "value": "3.23"},
                    "payments": {
                        "captures": [
                            {
                                "id": "3C679366HH908993F",
                                "status": "COMPLETED",
                                "amount": {"currency_code": "USD", "value": "3.23"},
                            }
                        ]
                    },
                }
            ],
        }
    )
    assert (order.reference, order.approve_url) == ("ref-1", "https://www.paypal.com/checkoutnow?token=5O1")
    assert order.capture is not None and (order.capture.id, order.capture.order_id) == ("3C679366HH908993F", order.id)
    assert order.capture.amount == Money(323, "USD")


def test_a_webhook_needs_its_transmission_headers_and_names_its_reference() -> None:
    body = {
        "id": "WH-1",
        "event_type": "CHECKOUT.ORDER.APPROVED",
        "resource": {"id": "5O1", "purchase_units": [{"custom_id": "ref-1"}]},
    }
    event = parse_webhook(json.dumps(body).encode())
    assert reference_of(event) == "ref-1"
    headers = {
        name: "x"
        for name in (
            "paypal-auth-algo",
            "paypal-cert-url",
            "paypal-transmission-id",
            "paypal-transmission-sig",
            "paypal-transmission-time",
        )
    }
    assert transmission(headers) == {
        "auth_algo": "x",
        "cert_url": "x",
        "transmission_id": "x",
        "transmission_sig": "x",
        "transmission_time": "x",
    }
    assert transmission({**headers, "paypal-transmission-sig": ""}) is None
    with pytest.raises(InvalidCallback):
        parse_webhook(b'{"id": "WH-1", "event_type": "X"}')
