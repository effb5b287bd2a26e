"""Abandoned-cart reminders through the real server, on both databases: a cart left for the shop's delay gets one
reminder with its lines and a Checkout button that leads into checkout; a second sweep sends nothing; none at night
in the shop's time zone (put off to 08:00), none to a customer who stopped marketing or whose chat refused the bot,
none for an emptied or checked-out cart; /sales counts the reminder, the order that followed and its money. On
PostgreSQL two sweeps of two engines at once send one reminder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from admin import shops
from core import marketing
from core.cart_reminders import CartReminders
from core.clock import FakeClock, utc
from core.db.engine import Database
from core.db.repos.catalog import CatalogRepository
from core.db.repos.customers import CustomerRepository
from core.db.tables import CartReminder, Customer, OutboxMessage, Tenant
from core.vault import Vault
from tests.support.app import (
    MAMA_CATALOG,
    Person,
    ShopServer,
    new_bot_token,
    order_code,
    place_order,
    send_proof,
    shop_server,
)
from tests.support.clocks import MovableClock

RICE = "Pishori Rice 2kg · KES 420"
REMINDED = "You left these in your cart"
REMINDED_SW = "Uliacha bidhaa hizi kwenye kikapu"
EAT = timedelta(hours=3)  # Nairobi, the test shop's zone (region KE)


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


def clock_at(server: ShopServer, local: datetime) -> MovableClock:
    """The server's clock, set to ``local`` Nairobi time (a day whose date does not matter)."""
    clock = server.clock = MovableClock()
    clock.offset = (local - EAT).replace(tzinfo=UTC) - clock.now()
    return clock


async def fill_cart(person: Person) -> None:
    await person.send("/start")
    await person.tap("Groceries")
    await person.tap(RICE)
    assert (await person.tap("➕ Add to cart")).notice


async def sweep(server: ShopServer) -> int:
    assert server.runtime is not None
    written = await server.runtime.cart_reminders.run_once()
    await server.settle()
    return written


async def customer_row(database: Database, tenant_id: int, person: Person) -> Customer:
    async with database.uow() as uow:
        row = await uow.session.scalar(
            select(Customer).where(Customer.tenant_id == tenant_id, Customer.tg_user_id == person.id)
        )
    assert row is not None
    return row


async def test_a_left_cart_gets_one_reminder_whose_checkout_leads_to_a_paid_order_counted_in_sales(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    clock = clock_at(server, datetime(2026, 12, 7, 10, 0))
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    customer = server.person(shop, 5001, "Wanjiru")
    await merchant.send("/start")
    await fill_cart(customer)
    await customer.send("/cart")
    await customer.tap_in_row("Pishori", "+")  # two bags

    clock.advance(hours=5, minutes=59)
    assert await sweep(server) == 0
    clock.advance(minutes=2)
    assert await sweep(server) == 1
    reminder = customer.find(REMINDED)
    assert reminder.content == (
        "🛒 You left these in your cart at Mama Mboga Store (today's prices):\n"
        "• Pishori Rice 2kg × 2 = KES 840\nTotal: KES 840"
    )
    assert [button.text for button in reminder.inline_buttons] == ["✅ Checkout", "🛒 Cart", "🔕 Stop offers"]
    assert await sweep(server) == 0
    clock.advance(hours=30)
    assert await sweep(server) == 0
    assert customer.count(REMINDED) == 1

    asked = await customer.tap("✅ Checkout", message=reminder)
    assert asked.text.startswith("What name should we put on the order?")
    await customer.send("Wanjiru Kamau")
    await customer.send("0712 345 678")
    await customer.tap("🏪 Pickup")
    code = order_code((await customer.tap("✅ Confirm order")).text)
    await send_proof(customer, "QK12ABC345")
    assert "✅ Approved." in await merchant.send(f"/approve {code}")
    await server.settle()

    sales = await merchant.send("/sales week")  # the reminder was yesterday
    assert "🛒 Cart reminders: 1 sent · 1 followed by an order within 48 h · 1 paid (KES 840)" in (
        sales.messages[0].content
    )
    clock.advance(hours=7)
    assert await sweep(server) == 0  # checked out: nothing is owed
    async with database.uow() as uow:
        reminders = (await uow.session.scalars(select(CartReminder))).all()
    assert [(r.total_minor, r.currency, r.order_id is not None) for r in reminders] == [(84_000, "KES", True)]


async def test_night_puts_a_reminder_off_and_stopped_unreachable_emptied_or_ordered_carts_get_none(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    clock = clock_at(server, datetime(2026, 12, 7, 15, 0))
    await server.start()
    await server.person(shop, 9001, "Mama").send("/start")
    waiting, stopped, blocked, emptied, ordered = (server.person(shop, 5001 + n, f"C{n}") for n in range(5))
    for person in (waiting, stopped, blocked, emptied):
        await fill_cart(person)
    await emptied.send("/cart")
    await emptied.tap_in_row("Pishori", "✕")
    await place_order(ordered)
    stopped_row = await customer_row(database, shop.tenant_id, stopped)
    async with database.uow() as uow:  # after the carts were left: /stop, and a chat that refused the bot
        await uow.session.execute(  # and the waiting customer reads Swahili (as /language would have it)
            update(Customer)
            .where(Customer.tenant_id == shop.tenant_id, Customer.tg_user_id == waiting.id)
            .values(language="sw", language_chosen=True)
        )
        assert await marketing.stop(uow.session, shop.tenant_id, stopped_row.id, clock.now())
        await marketing.mark_unreachable(uow.session, shop.tenant_id, blocked.user.chat.id, clock.now())
        await uow.commit()

    clock.advance(hours=6, minutes=30)  # 21:30 in Nairobi
    assert await sweep(server) == 0
    morning = datetime(2026, 12, 8, 8, 0, tzinfo=UTC) - EAT
    assert utc(_due(await customer_row(database, shop.tenant_id, waiting))) == morning
    for person in (stopped, blocked, ordered):
        assert (await customer_row(database, shop.tenant_id, person)).cart_remind_at is None

    clock.advance(hours=10, minutes=29)  # 07:59
    assert await sweep(server) == 0
    clock.advance(minutes=2)
    assert await sweep(server) == 1
    assert waiting.find(REMINDED_SW).content == (
        "🛒 Uliacha bidhaa hizi kwenye kikapu chako kwa Mama Mboga Store (bei za leo):\n"
        "• Pishori Rice 2kg × 1 = Ksh\xa0420\nJumla: Ksh\xa0420"  # shillings as Swahili writes them
    )
    for person in (stopped, blocked, emptied, ordered):
        assert person.count(REMINDED) == 0
    assert await sweep(server) == 0

    # The merchant turns them off from the chat (a customer cannot): a cart changed now gets none.
    merchant = server.person(shop, 9001, "Mama")
    assert (await merchant.send("/reminders")).text == (
        "🛒 Cart reminders: a cart left untouched for 6h gets one reminder, never between 21:00 and 08:00 shop time.\n"
        "Change it: /reminders 3h · /reminders off"
    )
    assert (await merchant.send("/reminders 10m")).text == (
        "Give a time from 30m to 7d, e.g. /reminders 6h or /reminders 90m, or /reminders off."
    )
    assert "Cart reminders" not in (await ordered.send("/reminders 1h")).text
    assert (await merchant.send("/reminders off")).text == "🛒 Cart reminders are off.\nTurn them on: /reminders 6h"
    await waiting.send("/cart")
    await waiting.tap_in_row("Pishori", "+")
    clock.advance(hours=8)
    assert await sweep(server) == 0
    assert waiting.count(REMINDED_SW) == 1
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None and tenant.cart_reminder_minutes == 0


def _due(customer: Customer) -> datetime:
    assert customer.cart_remind_at is not None, customer.id
    return customer.cart_remind_at


async def test_two_sweeps_of_two_processes_remind_a_cart_once(database: Database, vault: Vault) -> None:
    if database.dialect != "postgresql":
        pytest.skip("SQLite serves one process; the race is PostgreSQL's")
    clock = FakeClock(datetime(2026, 12, 7, 7, 0, tzinfo=UTC))  # 10:00 in Nairobi
    async with database.uow() as uow:
        tenant = await shops.create_tenant(
            uow.session, vault, slug="mama-mboga", name="Mama Mboga", bot_token=new_bot_token(), admins=[9001],
            currency="KES", region="KE", language="en", now=clock.now(),
        )  # fmt: skip
        await shops.import_catalog(uow.session, "mama-mboga", MAMA_CATALOG, now=clock.now())
        rice = await CatalogRepository(uow.session).by_sku(tenant.id, "GRO-RICE-2KG")
        assert rice is not None
        repo = CustomerRepository(uow.session)
        for n in range(20):
            customer = await repo.get_or_create(tenant.id, 5001 + n, 5001 + n, f"C{n}", clock.now())
            await repo.set_cart_quantity(
                tenant.id, customer.id, rice.id, 1, now=clock.now(), remind_at=clock.now() + timedelta(hours=6)
            )
        await uow.commit()
    clock.advance(hours=7)
    engines = [Database(database.url), Database(database.url)]
    try:
        sweeps = [CartReminders(engine, clock, batch=3) for engine in engines]
        written = await asyncio.gather(*(sweep.run_once() for sweep in sweeps))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(written) == 20
    async with database.uow() as uow:
        reminders = await uow.session.scalar(select(func.count()).select_from(CartReminder))
        owed = await uow.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dedupe_key.like("cart-reminder:%"))
        )
        tenant_row = await uow.session.get(Tenant, tenant.id)
    assert (reminders, owed) == (20, 20)
    assert tenant_row is not None and tenant_row.cart_reminder_minutes == 360
