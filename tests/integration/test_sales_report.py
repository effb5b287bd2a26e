"""``/sales`` as the merchant reads it through the real server: a fully refunded order stays in the gross sales it
was part of, its refund is counted once, and the figures add up; a refund later than its sale counts in its own
period."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.db.engine import Database
from core.vault import Vault
from flows.inbound import Inbound
from tests.integration.test_stock_and_review import TEA, shelf
from tests.support.app import Person, ShopServer, place_order, shop_server
from tests.support.refunds import as_admin, refund_confirmed

MILK = "Fresh Milk 500ml · KES 65"


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def paid_by_hand(server: ShopServer, admin: Person, customer: Person) -> str:
    code = await place_order(customer, product=MILK)
    await customer.tap("💵 Pay by hand and upload proof")
    await customer.photo(caption=f"QK7{customer.id}")
    await admin.send(f"/approve {code}")
    await server.settle()
    return code


async def refunded_by_hand(server: ShopServer, admin: Person, args: str) -> None:
    asked = await admin.send(f"/refund {args}")
    confirmed = await admin.tap(message=asked.last, data=asked.last.buttons[0][0][1])
    await admin.tap(message=confirmed.last, data=confirmed.last.buttons[0][0][1])  # Done: the money was sent
    await server.settle()


async def test_refunded_orders_stay_in_the_sales_and_the_figures_add_up(server: ShopServer) -> None:
    shop = await server.add_shop()
    await server.start()
    admin = server.person(shop, 9001, "Mama")
    await admin.send("/start")
    first = await paid_by_hand(server, admin, server.person(shop, 5001, "Wanjiru"))
    second = await paid_by_hand(server, admin, server.person(shop, 5002, "Otieno"))
    await paid_by_hand(server, admin, server.person(shop, 5003, "Akinyi"))
    await place_order(server.person(shop, 5004, "Baraka"), product=MILK)  # placed, not paid
    await refunded_by_hand(server, admin, first)  # all of it
    await refunded_by_hand(server, admin, f"{second} 10")

    report = await admin.send("/sales today")
    assert report.messages[0].content == (
        "📊 Sales today\n"
        "Gross sales: KES 195 (orders paid: 3)\n"
        "Refunds: KES 75\n"
        "Net: KES 120\n"
        "Waiting for payment: KES 65 (orders: 1)\n"
        "By payment method:\n"
        "• manual payment: KES 195\n"
        "By product:\n"
        "• Fresh Milk 500ml: KES 195\n"
        "Test orders are not counted."
    )
    chart = report.last
    assert chart.content == "📈 Sales today" and chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")


async def test_a_refund_counts_when_it_happened(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await shelf(database, vault, clock)  # the clock: 15 Jan 2026, a Thursday, 12:00 in Nairobi
    paid = await shop.order({TEA: 2})
    await shop.pay(paid)
    tenant, admin = shop.shop.tenant_id, shop.shop.admin_id

    async def figures(period: str) -> list[str]:
        reply = await as_admin(database, clock, tenant, admin, Inbound.cmd("sales", period))
        return reply.messages[0].text.split("\n")[1:4]

    assert await figures("today") == ["Gross sales: KES 700 (orders paid: 1)", "Refunds: KES 0", "Net: KES 700"]
    clock.advance(days=1)
    refund = await refund_confirmed(database, clock, tenant, admin, "ST0001 200")
    await as_admin(database, clock, tenant, admin, Inbound.pressed(refund.messages[0].buttons[0][0].data or ""))
    assert await figures("today") == ["Gross sales: KES 0 (orders paid: 0)", "Refunds: KES 200", "Net: -KES 200"]
    assert await figures("week") == ["Gross sales: KES 700 (orders paid: 1)", "Refunds: KES 200", "Net: KES 500"]
    clock.advance(days=20)  # February
    assert await figures("month") == ["Gross sales: KES 0 (orders paid: 0)", "Refunds: KES 0", "Net: KES 0"]
