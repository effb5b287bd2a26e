"""What a merchant reconciles with, through the real server, the fake Telegram and the payment simulators: every
time in the shop's own zone and labelled (a shop in Lagos, a shop with a zone set by the operator), and /order showing
what the provider's statement shows (the M-Pesa receipt, the phone that paid, the amount and the time; Paystack's
reference and channel; the reference given with a proof)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, update

from admin import gate
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Payment, Tenant
from core.vault import Vault
from flows import router
from flows.inbound import Actor, Inbound
from sandbox.paystack.simulator import PaystackSimulator, RetryPolicy, serve
from tests.integration.test_mpesa_c2b import failed_push, register
from tests.integration.test_mpesa_checkout_kit import Rig, mpesa_rig
from tests.support import shop_times
from tests.support.app import Person, ShopServer, place_order, shop_server
from tests.support.mpesa import daraja, mpesa_settings

LAGOS = ("Africa/Lagos", "WAT")
JOHANNESBURG = ("Africa/Johannesburg", "SAST")
KEY = "sk_test_lagosmarket000000000000001"
LAGOS_CATALOG = """\
sku,name,price,category,description,photo_url,stock
SPC-JOLLOF,Jollof Spice 100g,1500,Spices,Seasoning for jollof rice.,,
"""
HISTORY_LINE = re.compile(r"^(\d\d [A-Z][a-z]{2} \d\d:\d\d) ([A-Z]+) ")


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


def history_labels(card: str) -> set[str]:
    """The zone labels of the card's history lines (each line must start with a labelled time)."""
    lines = card.split("History:\n", 1)[1].splitlines()
    matches = [HISTORY_LINE.match(line) for line in lines]
    assert all(matches), lines
    return {match.group(2) for match in matches if match}


async def payment_of(database: Database, tenant_id: int) -> Payment:
    async with database.uow() as uow:
        payment = await uow.session.scalar(select(Payment).where(Payment.tenant_id == tenant_id))
    assert payment is not None
    return payment


async def test_each_shop_sees_its_own_labelled_times(server: ShopServer, database: Database) -> None:
    sim = PaystackSimulator(retry=RetryPolicy.none())
    async with serve(sim) as sim_url:
        lagos = await server.add_shop(
            "lagos-market",
            "Lagos Market",
            admins=(9101,),
            catalog=LAGOS_CATALOG,
            instructions=None,
            region="NG",
            currency="NGN",
            providers={"paystack": ({"secret_key": KEY}, {"base_url": sim_url})},
        )
        # A Kenyan shop whose operator set its own zone: the zone wins over the region's.
        mama = await server.add_shop()
        async with database.uow() as uow:
            await uow.session.execute(
                update(Tenant).where(Tenant.id == mama.tenant_id).values(timezone="Africa/Johannesburg")
            )
            await uow.commit()
        await server.start()
        sim.add_merchant(KEY, webhook_url=f"{server.base_url}/pay/paystack/{lagos.slug}", currency="NGN")
        ade_admin, mama_admin = server.person(lagos, 9101, "Tunde"), server.person(mama, 9001, "Mama")
        await ade_admin.send("/start")
        await mama_admin.send("/start")

        # Lagos: paid online with Paystack.
        ada = server.person(lagos, 5101, "Ada")
        lagos_code = await place_order(
            ada, category="Spices", product="Jollof Spice 100g · NGN 1,500", name="Ada Obi", phone="0803 123 4567"
        )
        await ada.tap("💳 Pay online")
        await server.settle()
        ((button,),) = ada.find(f"To pay NGN 1,500 for order {lagos_code}").buttons
        async with aiohttp.ClientSession() as browser, browser.post(button[1], data={"action": "success"}) as paid:
            assert paid.status == 200
        await sim.drain()
        await server.settle()

        # Mama: paid by hand, approved in the chat.
        wanjiru = server.person(mama, 5001, "Wanjiru")
        mama_code = await place_order(wanjiru)
        await wanjiru.tap("💵 Pay by hand and upload proof")
        await wanjiru.photo(caption="QK7ABC1234")
        await server.settle()
        await mama_admin.send(f"/approve {mama_code}")
        await server.settle()

        # The receipt: the time the provider says the money moved (Paystack's paid_at), in the shop's zone.
        lagos_event = await shop_times.paid_event(database, lagos.tenant_id, lagos_code)
        paystack_said = lagos_event.raw["verify"]  # the webhook, as Paystack's Verify confirmed it
        paid_at = datetime.fromisoformat(str(paystack_said["paid_at"]).replace("Z", "+00:00"))
        lagos_payment = await payment_of(database, lagos.tenant_id)
        assert ada.find("Payment received").content == (
            f"✅ Payment received. Thank you!\nOrder: {lagos_code}\nAmount: NGN 1,500\nPaid by: Paystack (card)\n"
            f"Reference: {lagos_payment.provider_txn_id}\nTime: {shop_times.shown(paid_at, LAGOS, year=True)}"
        )
        mama_paid = await shop_times.paid(database, mama.tenant_id, mama_code, JOHANNESBURG)
        assert wanjiru.find("Payment received").content == (
            f"✅ Payment received. Thank you!\nOrder: {mama_code}\nAmount: KES 420\nPaid by: manual payment\n"
            f"Reference: QK7ABC1234\nTime: {mama_paid}"
        )

        # The customer's own /orders.
        lagos_placed = await shop_times.placed(database, lagos.tenant_id, lagos_code, LAGOS)
        mama_placed = await shop_times.placed(database, mama.tenant_id, mama_code, JOHANNESBURG)
        assert (await ada.send("/orders")).text == (
            f"Your orders:\n• {lagos_code} – NGN 1,500 – paid – placed {lagos_placed}"
        )
        assert (await wanjiru.send("/orders")).text == (
            f"Your orders:\n• {mama_code} – KES 420 – paid – placed {mama_placed}"
        )

        # The merchant's /orders and /order.
        listed = await ade_admin.send("/orders")
        assert f"{lagos_code} · paid · NGN 1,500 · Ada Obi · {lagos_placed}" in listed.text.splitlines()
        listed = await mama_admin.send("/orders")
        assert f"{mama_code} · paid · KES 420 · Wanjiru Kamau · {mama_placed}" in listed.text.splitlines()

        card = (await ade_admin.send(f"/order {lagos_code}")).text
        assert card.startswith(
            f"Order {lagos_code} – paid\nAmount: NGN 1,500\nCustomer: Ada Obi (0803 123 4567)\n"
            "Delivery: pickup at the shop\n• Jollof Spice 100g × 1\n"
            f"Payment: Paystack (card) – paid · NGN 1,500 · {shop_times.shown(paid_at, LAGOS)} · "
            f"reference {lagos_payment.reference}\nHistory:\n{lagos_placed} Order placed\n"
        )
        assert f"{shop_times.shown(lagos_event.received_at, LAGOS)} Paid NGN 1,500 by Paystack" in card.splitlines()
        assert history_labels(card) == {"WAT"}

        card = (await mama_admin.send(f"/order {mama_code}")).text
        mama_event = await shop_times.paid_event(database, mama.tenant_id, mama_code)
        assert card.startswith(
            f"Order {mama_code} – paid\nAmount: KES 420\nCustomer: Wanjiru Kamau (0712 345 678)\n"
            "Delivery: pickup at the shop\n• Pishori Rice 2kg × 1\n"
            f"Payment: manual payment – paid · KES 420 · {shop_times.shown(mama_event.received_at, JOHANNESBURG)} · "
            "reference given: QK7ABC1234\n"
            f"History:\n{mama_placed} Order placed\n"
        )
        assert history_labels(card) == {"SAST"}
        await sim.close()


async def test_the_order_card_shows_what_the_mpesa_statement_shows(server: ShopServer, database: Database) -> None:
    async with daraja() as (sim, daraja_url):
        shop = await server.add_shop(providers=mpesa_settings(daraja_url))
        await server.start()
        merchant: Person = server.person(shop, 9001, "Mama")
        await merchant.send("/start")
        customer = server.person(shop, 5001, "Wanjiru")
        # The contact phone is one number; the M-Pesa request goes to another (a relative's phone pays).
        code = await place_order(customer, phone="0712 345 678")
        await customer.tap("📱 M-Pesa")
        await customer.tap("📞 Use another number")
        await customer.send("0708 374 149")  # the request goes out to it at once
        await server.settle()
        await sim.settle()
        await server.settle()
        (txn,) = sim.transactions.values()
        assert customer.find("Payment received")

        # The time on the M-Pesa statement is the callback's TransactionDate (Nairobi time, as M-Pesa writes it).
        event = await shop_times.paid_event(database, shop.tenant_id, code)
        items = {
            item["Name"]: item.get("Value") for item in event.raw["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
        }
        stamp = datetime.strptime(str(items["TransactionDate"]), "%Y%m%d%H%M%S")
        card = (await merchant.send(f"/order {code}")).text
        lines = card.splitlines()
        assert lines[:6] == [
            f"Order {code} – paid",
            "Amount: KES 420",
            "Customer: Wanjiru Kamau (0712 345 678)",
            "Delivery: pickup at the shop",
            "• Pishori Rice 2kg × 1",
            f"Payment: M-Pesa – paid · M-Pesa receipt {txn.receipt} · KES 420 from 0708 374 149 · "
            f"{stamp:%d %b %H:%M} EAT",
        ]
        received = shop_times.shown(event.received_at)
        assert f"{received} Paid KES 420 by M-Pesa (receipt {txn.receipt})" in lines
        assert "–  –" not in card and " – —" not in card and "None" not in card
        assert history_labels(card) == {"EAT"}


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path) as running:
        await running.seed()
        yield running


async def card_of(rig: Rig, code: str) -> str:
    """``/order CODE`` typed by the shop's admin, routed as the bot routes it."""
    async with rig.database.uow() as uow:
        tenant = await uow.session.get(Tenant, rig.tenant_id)
        assert tenant is not None
        ctx = await router.open_context(uow.session, tenant, Actor(9001, 9001, "Mama"), rig.clock)
        reply, _ = await gate.route(ctx, Inbound.cmd("order", code))
        await uow.commit()
    (message,) = reply.messages
    return message.text


async def test_a_paybill_payment_shows_the_payer_as_the_statement_names_them(rig: Rig) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    # Daraja masks the number of a Paybill payer; the name is what the statement shows beside it.
    result = await rig.sim.c2b_pay(
        "174379", order.code, 420, msisdn_format="masked", first_name="JOHN", last_name="DOE"
    )
    assert (await rig.order()).status == "paid"
    card = await card_of(rig, order.code)
    failed, paybill = [line for line in card.splitlines() if line.startswith("Payment: ")]
    assert failed == "Payment: M-Pesa – failed"
    # The time is the confirmation's TransTime: Nairobi time, as the M-Pesa statement writes it.
    event = await shop_times.paid_event(rig.database, rig.tenant_id, order.code)
    stamp = datetime.strptime(str(event.raw["TransTime"]), "%Y%m%d%H%M%S")
    assert paybill == (
        f"Payment: M-Pesa – paid · M-Pesa receipt {result.trans_id} · KES 420 from JOHN DOE (2547 ***** 149) · "
        f"{stamp:%d %b %H:%M} EAT"
    )
