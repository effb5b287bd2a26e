"""``/refund`` asks before it refunds: what the merchant sees through the real server and the fake Telegram (the
order, the amount about to go back, Confirm and Cancel), and that only the asking admin's Confirm, in time and once,
starts a refund. The race of presses is decided by the database (PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import AuditEntry, Refund, RefundConfirmation
from core.vault import Vault
from flows.context import Reply
from payments.states import PaymentStatus
from tests.integration.test_stock_and_review import CUSTOMER, TEA, said, shelf
from tests.support.app import Shop, ShopServer, place_order, shop_server
from tests.support.refunds import ask, confirm_data, press

MILK = "Fresh Milk 500ml · KES 65"
ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def refunds(database: Database) -> list[tuple[int, str]]:
    async with database.uow() as uow:
        rows = await uow.session.execute(select(Refund.amount_minor, Refund.status).order_by(Refund.id))
        return [(row.amount_minor, row.status) for row in rows]


async def expire_questions(database: Database, shop: Shop) -> None:
    """The server runs on the system clock: a question older than five minutes, as the database would hold it."""
    async with database.uow() as uow:
        await uow.session.execute(
            update(RefundConfirmation)
            .where(RefundConfirmation.tenant_id == shop.tenant_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await uow.commit()


async def test_a_refund_is_shown_first_and_starts_only_on_its_admins_confirm(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop(admins=(9001, 9002))
    await server.start()
    admin, other_admin = server.person(shop, 9001, "Mama"), server.person(shop, 9002, "Baraka")
    await admin.send("/start")
    await other_admin.send("/start")
    customer = server.person(shop, 5001, "Wanjiru")
    code = await place_order(customer, product=MILK)
    await customer.tap("💵 Pay by hand and upload proof")
    await customer.photo(caption="QK7REFUND1")
    await admin.send(f"/approve {code}")
    await server.settle()

    asked = await admin.send(f"/refund {code.lower()}")
    (question,) = await questions(database)
    assert asked.last.content == card(code, paid="KES 65", taken="KES 0", amount="KES 65", until=question)
    assert asked.last.buttons == [
        [("✅ Confirm: refund KES 65", f"rfy.1:{question.id}")],
        [("✖️ Cancel", f"rfn.1:{question.id}")],
    ]
    assert await refunds(database) == []  # nothing is refunded by asking

    cancelled = await admin.tap("✖️ Cancel", message=asked.last)
    assert cancelled.last.message_id == asked.last.message_id  # the question itself says it was cancelled
    assert (cancelled.last.content, cancelled.last.buttons) == (
        f"✖️ Refund for order {code} cancelled. Nothing was refunded.",
        [],
    )
    late = await admin.tap(message=asked.last, data=f"rfy.1:{question.id}")  # its Confirm, pressed after Cancel
    assert late.notice == (
        f"This refund for order {code} was cancelled. Nothing was refunded; send /refund {code} again if you still "
        "want to."
    )
    assert await refunds(database) == []

    partial = await admin.send(f"/refund {code} 20")
    data = partial.last.buttons[0][0][1]
    assert "About to go back: KES 20\n" in partial.last.content and data is not None
    # Another admin of the shop cannot confirm it (a forged or forwarded press): nothing changes, the question stays.
    foreign = await other_admin.tap(message=other_admin.messages[-1], data=data)
    assert (
        foreign.notice
        == f"Only the admin who asked for this refund of order {code} can confirm or cancel it. Nothing was changed."
    )
    assert foreign.messages == [] and await refunds(database) == []

    confirmed = await admin.tap("✅ Confirm: refund KES 20", message=partial.last)
    assert confirmed.last.message_id == partial.last.message_id
    assert confirmed.last.content.startswith(f"↩️ Refund recorded for order {code} (paid by manual payment).")
    assert "send KES 20 to Wanjiru Kamau, 0712 345 678 for order " in confirmed.last.content
    assert confirmed.last.buttons[0][0][0] == f"✅ Done: sent KES 20 for {code}"
    again = await admin.tap(message=partial.last, data=data)  # a double press
    assert again.notice == f"This refund for order {code} was confirmed already: it is started once only."
    # The second tap only answers: the message keeps the task and its Done button (found by the contract suite).
    assert again.messages == []
    assert admin.find(f"↩️ Refund recorded for order {code}").buttons[0][0][0] == f"✅ Done: sent KES 20 for {code}"
    assert await refunds(database) == [(2000, "awaiting_merchant")]
    await server.settle()
    assert customer.count(f"The shop will send you KES 20 back for order {code}.") == 1

    rest = await admin.send(f"/refund {code}")
    (_, _, newest) = await questions(database)
    assert rest.last.content == card(code, paid="KES 65", taken="KES 20", amount="KES 45", until=newest)
    await expire_questions(database, shop)
    expired = await admin.tap("✅ Confirm: refund KES 45", message=rest.last)
    assert expired.last.content == (
        f"⌛ This refund for order {code} was not confirmed within 5 minutes. Nothing was refunded; send "
        f"/refund {code} again if you still want to."
    )
    assert expired.last.buttons == [] and await refunds(database) == [(2000, "awaiting_merchant")]

    async with database.uow() as uow:
        audit = await uow.session.execute(
            select(AuditEntry.actor_tg_id, AuditEntry.action, AuditEntry.allowed)
            .where(AuditEntry.action.like("refund%"))
            .order_by(AuditEntry.id)
        )
    assert [tuple(row) for row in audit] == [
        (9001, "refund.asked", True),
        (9001, "refund.cancelled", True),
        (9001, "refund.confirmed", False),
        (9001, "refund.asked", True),
        (9002, "refund.confirmed", False),
        (9001, "refund", True),
        (9001, "refund.confirmed", False),
        (9001, "refund.asked", True),
        (9001, "refund.confirmed", False),
    ]


async def questions(database: Database) -> list[RefundConfirmation]:
    async with database.uow() as uow:
        return list(await uow.session.scalars(select(RefundConfirmation).order_by(RefundConfirmation.id)))


def card(code: str, *, paid: str, taken: str, amount: str, until: RefundConfirmation) -> str:
    shown = (until.expires_at.astimezone(UTC) + timedelta(hours=3)).strftime("%H:%M")  # Nairobi: EAT, no DST
    return (
        f"↩️ Refund for order {code}?\n"
        "Customer: Wanjiru Kamau, 0712 345 678\n"
        "• Fresh Milk 500ml × 1: KES 65\n"
        f"Paid: {paid} by manual payment\n"
        f"Refunded already or on its way: {taken}\n"
        "\n"
        f"About to go back: {amount}\n"
        "dukabot cannot send manual payment money back: you send it to the customer yourself, then press Done.\n"
        "\n"
        f"Nothing is refunded until you press Confirm, within 5 minutes (until {shown} EAT)."
    )


async def test_a_question_expires_by_the_shops_clock(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await shelf(database, vault, clock)
    paid = await shop.order({TEA: 1})
    await shop.pay(paid)
    tenant, admin = shop.shop.tenant_id, shop.shop.admin_id
    asked = await ask(database, clock, tenant, admin, "ST0001")
    clock.advance(minutes=4, seconds=59)
    in_time = await ask(database, clock, tenant, admin, "ST0001")
    clock.advance(seconds=2)  # the first question is 5 minutes and 1 second old, the second 2 seconds
    late = await press(database, clock, tenant, admin, confirm_data(asked))
    assert late.refused and late.notice is not None and "was not confirmed within 5 minutes" in late.notice
    assert await refunds(database) == []
    started = await press(database, clock, tenant, admin, confirm_data(in_time))
    assert not started.refused and "send KES 350 to Wanjiru Kamau, 0712 345 678 for order ST0001" in said(started)
    assert await refunds(database) == [(35000, "awaiting_merchant")]


async def test_confirm_checks_the_order_again(database: Database, vault: Vault, clock: FakeClock) -> None:
    """Two questions for all of the money: the first confirmed takes it, the second finds nothing left to refund."""
    shop = await shelf(database, vault, clock)
    paid = await shop.order({TEA: 1})
    await shop.pay(paid)
    tenant, admin = shop.shop.tenant_id, shop.shop.admin_id
    first = await ask(database, clock, tenant, admin, "ST0001")
    second = await ask(database, clock, tenant, admin, "ST0001 100")
    assert not (await press(database, clock, tenant, admin, confirm_data(first))).refused
    refused = await press(database, clock, tenant, admin, confirm_data(second))
    assert refused.refused and said(refused) == (
        "Order ST0001 has nothing left to refund: KES 350 was paid and all of it is refunded or on its way."
    )
    assert refused.messages[0].edit  # the question itself turns into the answer
    again = await press(database, clock, tenant, admin, confirm_data(second))
    assert again.refused and again.messages == []  # the message already says why; a second tap only answers
    assert again.notice is not None
    assert again.notice.startswith("This refund for order ST0001 was confirmed, but the order had changed")
    assert await refunds(database) == [(35000, "awaiting_merchant")]


@ON_POSTGRES
async def test_presses_at_once_start_one_refund(database: Database, vault: Vault, clock: FakeClock) -> None:
    """A double press and the other admin's press, all at once, every round: one refund, two clear refusals. (Two
    presses of one admin also meet at their chat's rows, which apply them in turn; the question's conditional UPDATE
    is what decides, whichever order they come in.)"""
    shop = await shelf(database, vault, clock)
    tenant, admin, other_admin = shop.shop.tenant_id, shop.shop.admin_id, 9002
    for who in (admin, other_admin):  # both have written before: the presses below only read their chat's rows
        assert (await ask(database, clock, tenant, who, "")).refused
    for round_ in range(10):
        paid = await shop.order({TEA: 1})
        await shop.pay(paid)
        code = f"ST{round_ + 1:04d}"
        data = confirm_data(await ask(database, clock, tenant, admin, code))
        presses = [press(database, clock, tenant, who, data) for who in (admin, admin, other_admin)]
        replies: list[Reply] = await asyncio.gather(*presses)
        started = [reply for reply in replies if not reply.refused]
        assert len(started) == 1 and f"send KES 350 to Wanjiru Kamau, 0712 345 678 for order {code}" in said(started[0])
        notices = sorted(reply.notice or "" for reply in replies if reply.refused)
        assert notices == [
            f"Only the admin who asked for this refund of order {code} can confirm or cancel it. Nothing was changed.",
            f"This refund for order {code} was confirmed already: it is started once only.",
        ]
        payment, _ = await shop.payment(paid.id)
        assert payment.status == PaymentStatus.PAID
    assert await refunds(database) == [(35000, "awaiting_merchant")] * 10
    promised = [t for t in await shop.texts(CUSTOMER.chat_id) if t.startswith("The shop will send you")]
    assert len(promised) == 10  # each customer told once
