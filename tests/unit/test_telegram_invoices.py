"""Telegram Payments apart from any server: the updates Telegram sends as the flows read them, what an order costs
in Stars, and the settings an operator gives."""

from __future__ import annotations

import json

import pytest

from bot.channel import Channel
from core.money import Money
from flows.inbound import Actor, Inbound, Kind
from payments.invoices import InvoiceEvent, InvoiceStage, payload_for, provider_of
from payments.setup import SetupError
from payments.telegram.pricing import Line, PricingError, parse_prices, stars_for
from payments.telegram.settings import TelegramSetup

CUSTOMER = {"id": 5001, "is_bot": False, "first_name": "Wanjiru", "language_code": "sw"}


@pytest.mark.every_channel
def test_a_pre_checkout_query_is_read_from_the_customers_private_chat(channel: Channel) -> None:
    body = {
        "update_id": 41,
        "pre_checkout_query": {
            "id": "4100000001",
            "from": CUSTOMER,
            "currency": "XTR",
            "total_amount": 42,
            "invoice_payload": "telegram:PAYREF123",
        },
    }
    update = channel.parse(json.dumps(body).encode())
    assert update is not None and update.update_id == 41
    incoming = update.incoming
    assert incoming is not None
    assert incoming.actor == Actor(5001, 5001, "Wanjiru", "sw")
    assert incoming.inbound == Inbound(
        Kind.INVOICE,
        invoice=InvoiceEvent(InvoiceStage.PRE_CHECKOUT, "telegram:PAYREF123", "XTR", 42, query_id="4100000001"),
    )


@pytest.mark.every_channel
def test_a_successful_payment_message_is_read_as_a_payment_not_as_a_message(channel: Channel) -> None:
    paid = {
        "currency": "KES",
        "total_amount": 42000,
        "invoice_payload": "telegram:PAYREF123",
        "telegram_payment_charge_id": "tgcharge000000000001",
        "provider_payment_charge_id": "prov_ch_1",
    }
    message = {"message_id": 9, "from": CUSTOMER, "chat": {"id": 5001, "type": "private"}, "date": 1764892800}
    update = channel.parse(json.dumps({"update_id": 42, "message": {**message, "successful_payment": paid}}).encode())
    assert update is not None and update.update_id == 42
    incoming = update.incoming
    assert incoming is not None and incoming.actor.chat_id == 5001
    assert incoming.inbound.invoice == InvoiceEvent(
        InvoiceStage.PAID,
        "telegram:PAYREF123",
        "KES",
        42000,
        charge_id="tgcharge000000000001",
        provider_charge_id="prov_ch_1",
    )


def test_the_payload_names_the_provider_and_the_payment() -> None:
    assert payload_for("telegram", "PAYREF123") == "telegram:PAYREF123"
    assert provider_of("telegram:PAYREF123") == ("telegram", "PAYREF123")
    assert [provider_of(bad) for bad in ("", "telegram", "telegram:", ":PAYREF123")] == [None] * 4
    with pytest.raises(ValueError, match="at most 128 bytes"):
        payload_for("telegram", "X" * 120)


def test_stars_per_product_win_over_the_rate_which_rounds_each_line_up() -> None:
    lines = [Line("RICE", Money(42000, "KES"), 2), Line("TEA", Money(35050, "KES"), 1)]
    # RICE at its own price (40 Stars each); TEA at 0.08 Stars per shilling: 350.50 x 0.08 = 28.04, so 29 Stars.
    assert stars_for({"stars_prices": "RICE=40", "stars_rate": "0.08"}, lines) == Money(109, "XTR")
    assert stars_for({"stars_prices": "RICE=40"}, lines) is None  # TEA has no way to a price in Stars


@pytest.mark.parametrize("typed", ["RICE", "RICE=0", "RICE=10001", "=4", "RICE=4.5"])
def test_a_price_list_that_is_no_stars_price_is_refused(typed: str) -> None:
    with pytest.raises(PricingError):
        parse_prices(typed)


def test_card_invoices_need_a_provider_token_and_stars_need_a_price() -> None:
    with pytest.raises(SetupError, match="card invoices need --provider-token"):
        TelegramSetup.parse({"invoices": "card"})
    with pytest.raises(SetupError, match="Stars invoices need --stars-rate or --stars-prices"):
        TelegramSetup.parse({})
    with pytest.raises(SetupError, match="provider_token"):
        TelegramSetup.parse({"invoices": "card", "provider_token": "not-a-token"})
    secrets, options = TelegramSetup.parse({"invoices": "card", "provider_token": "284685063:TEST:abc"}).stored()
    assert (secrets, options) == ({"provider_token": "284685063:TEST:abc"}, {"invoices": "card"})
