"""Paid orders through the real server, the fake Bot API and the Daraja simulator, with the merchant's alerts routed
to a group that Telegram lets the bot write to only every 30 seconds: each customer's receipt arrives while the
group's alerts wait, and the alerts that waited arrive as one message, edited into a list of every order paid."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db.engine import Database
from core.db.tables import OutboxMessage, Tenant
from core.outbox import OutboxStatus
from core.pacing import PacingLimits
from core.vault import Vault
from sandbox.mpesa.models import HOLD
from tests.support.app import ShopServer, eventually, place_order, shop_server, until
from tests.support.clocks import MovableClock
from tests.support.mpesa import daraja, mpesa_settings


def phone(n: int) -> str:
    """Customer ``n``'s Safaricom number, as typed (Daraja takes one request per phone at a time)."""
    return f"0712 345 67{n}"


GROUP = -100_200_300
ORDERS = 4
GROUP_INTERVAL = 30.0  # seconds between two messages to the group, as the server paces it


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def owed_to(server: ShopServer, chat_id: int, status: OutboxStatus = OutboxStatus.PENDING) -> int:
    async with server.database.uow() as uow:
        count = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == status.value)
        )
    return int(count or 0)


async def first_recorded_sent(server: ShopServer, chat_id: int) -> bool:
    return await owed_to(server, chat_id, OutboxStatus.SENT) == 1


@pytest.mark.every_channel
async def test_receipts_do_not_wait_for_the_merchants_group_and_its_alerts_become_one_list(
    server: ShopServer, database: Database
) -> None:
    async with daraja() as (sim, daraja_url):
        shop = await server.add_shop(providers=mpesa_settings(daraja_url))
        async with database.uow() as uow:  # the merchant routed alerts to a group (/alerts here)
            tenant = await uow.session.get(Tenant, shop.tenant_id)
            assert tenant is not None
            tenant.alert_chat_id = GROUP
            await uow.commit()
        group = server.fake.group(shop.token, GROUP, "Mama Mboga alerts")
        clock = server.clock = MovableClock()
        server.pacing_limits = PacingLimits(per_chat_interval=0.05, per_group_interval=GROUP_INTERVAL)
        await server.start()
        customers = [server.person(shop, 5001 + n, f"Customer {n}") for n in range(ORDERS)]
        codes = []
        for n, customer in enumerate(customers):
            sim.set_outcome(f"25471234567{n}", HOLD)  # the request stays on the phone until the test answers it
            codes.append(await place_order(customer, phone=phone(n)))
            await customer.tap("📱 M-Pesa")
            await customer.tap(f"✅ Yes, send to {phone(n)}")
        await server.settle()
        transactions = list(sim.transactions.values())
        assert len(transactions) == ORDERS

        # The first order is paid: its receipt, and the group's first alert, which starts the group's 30 s wait.
        await sim.complete(transactions[0].checkout_request_id, 0)
        await sim.settle()
        await until(lambda: len(group.messages) == 1, "the first alert in the group")
        first_alert = group.messages[0].content
        # The fake has it before the relay records it sent (in the commit after the send): wait for that record.
        await eventually(lambda: first_recorded_sent(server, GROUP), "the first alert recorded as sent")
        assert "is paid: KES 420 by M-Pesa" in first_alert

        # The others are paid while the group waits: every receipt arrives, the group's alerts stay owed.
        for txn in transactions[1:]:
            await sim.complete(txn.checkout_request_id, 0)
        await sim.settle()
        await until(lambda: all(c.count("Payment received") == 1 for c in customers), "every receipt")
        assert [m.content for m in group.messages] == [first_alert]
        assert await owed_to(server, GROUP) == ORDERS - 1

        # The group's turn comes: one edit of the first alert lists every order paid.
        clock.advance(seconds=GROUP_INTERVAL + 1)

        async def listed() -> bool:
            return await owed_to(server, GROUP) == 0

        await eventually(listed, "the group's alerts")
        [alert] = group.messages
        assert alert.content.startswith(f"💰 {ORDERS} orders paid in the last minute:")
        assert all(f"Order {code} is paid: KES 420 by M-Pesa" in alert.content for code in codes)
        assert alert.edit_date is not None
        assert not server.errors.messages()
