"""Held money is accepted or refunded, never both, and Paystack's Verify is asked outside any transaction.

The race: one admin accepts money held for review while another refunds it. On PostgreSQL, with the two truly
concurrent, a third transaction first holds the payment's row lock, so both commands have read the held payment and
wait on that lock every round (not only when the timing happens to line up); once both wait, it lets them go.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Order, Payment, PaymentEvent, Refund
from core.vault import Vault
from flows.inbound import Inbound
from payments import merchant_refunds, refunds
from payments.service import OPEN_REFUND_STATUSES
from payments.states import OrderStatus, PaymentStatus
from sandbox.paystack.simulator import SimRequest, SimResponse
from tests.integration.test_accept_confirmed import REFUSED, as_admin, forged_success
from tests.integration.test_paystack_checkout import Rig, paystack_rig
from tests.integration.test_stock_and_review import SUGAR, Shelf, said, shelf
from tests.support.locks import waiting_on_a_lock
from tests.support.refunds import confirm_data

ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
OTHER_ADMIN = 9002
ACCEPTED = "Order {code} is paid: KES 180 accepted as received. The customer has been sent a receipt."
REFUND_OPEN = (
    "Order {code}: this payment is being refunded (you asked for it with /refund), so it cannot be accepted as well. "
    "Nothing was changed."
)
CHANGED = (
    "Order {code} changed while you asked: its payment is no longer held for review (another admin has just decided "
    "it). Nothing was refunded. Look at the order again (/order {code}) and send /refund {code} once more if you "
    "still want to give the money back."
)


async def open_refunds(database: Database, payment_id: int) -> list[tuple[int, str]]:
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(Refund.amount_minor, Refund.status).where(
                Refund.payment_id == payment_id, Refund.status.in_(sorted(OPEN_REFUND_STATUSES))
            )
        )
        return [(row.amount_minor, row.status) for row in rows]


async def acceptances(database: Database, payment_id: int) -> list[str]:
    """The results of the acceptance events recorded for the payment."""
    async with database.uow() as uow:
        rows = await uow.session.scalars(
            select(PaymentEvent.result).where(PaymentEvent.event_key == f"review:{payment_id}:accepted")
        )
        return list(rows)


async def known_admins(shop: Shelf) -> None:
    """Both admins have written before, so the commands raced below only read their chat's rows."""
    for admin in (shop.shop.admin_id, OTHER_ADMIN):
        assert (await shop.as_admin("command", "", admin=admin)).refused is True  # /accept alone: its usage


def test_open_refund_statuses_are_paystacks_in_flight_and_the_merchants_open_tasks() -> None:
    assert refunds.IN_FLIGHT | {merchant_refunds.AWAITING_MERCHANT} == refunds.OPEN == OPEN_REFUND_STATUSES


@ON_POSTGRES
async def test_accept_and_refund_of_the_same_held_money_at_once_apply_exactly_one(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    await known_admins(shop)
    outcomes: list[str] = []
    for _ in range(20):
        held = await shop.order({SUGAR: 1})
        await shop.pay(held, minor=18000)  # KES 10 short: held for review
        _, order = await shop.payment(held.id)
        asked = await shop.as_admin("ask", order.code, admin=OTHER_ADMIN)  # the refund's question, confirmed below
        async with database.engine.connect() as gate:
            transaction = await gate.begin()
            await gate.execute(select(Payment.id).where(Payment.id == held.id).with_for_update())
            accept = asyncio.create_task(shop.as_admin("button", held.id))
            refund = asyncio.create_task(shop.as_admin("done", confirm_data(asked), admin=OTHER_ADMIN))
            await waiting_on_a_lock(database, 2)  # Accept and Confirm read the payment as held and wait for its lock
            await transaction.rollback()
            accepted, refunded = await asyncio.gather(accept, refund)
        payment, order = await shop.payment(held.id)
        promised = await open_refunds(database, held.id)
        if payment.status == PaymentStatus.PAID:
            assert (order.status, promised) == (OrderStatus.PAID, [])
            assert (accepted.messages, accepted.notice) == ([], "✅ " + ACCEPTED.format(code=order.code))
            assert (refunded.refused, said(refunded)) == (True, CHANGED.format(code=order.code))
            assert await acceptances(database, held.id) == ["applied"]
            outcomes.append("accepted")
        else:
            assert (payment.status, order.status) == (PaymentStatus.NEEDS_REVIEW, OrderStatus.NEEDS_REVIEW)
            assert promised == [(18000, merchant_refunds.AWAITING_MERCHANT)]
            assert (accepted.refused, said(accepted)) == (True, REFUND_OPEN.format(code=order.code))
            assert refunded.refused is False
            # The refused acceptance left no event: should this refund fail, the money can still be accepted.
            assert await acceptances(database, held.id) == []
            outcomes.append("refunded")
    assert len(outcomes) == 20  # every round ended with exactly one of the two applied


@ON_POSTGRES
async def test_a_refund_waiting_while_the_held_money_is_accepted_refunds_nothing(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    """The acceptance's side of the race, made certain: it holds the payment's lock and lands while the refund's
    Confirm waits."""
    shop = await shelf(database, vault, clock)
    await known_admins(shop)
    held = await shop.order({SUGAR: 1})
    await shop.pay(held, minor=18000)
    _, order = await shop.payment(held.id)
    asked = await shop.as_admin("ask", order.code, admin=OTHER_ADMIN)
    async with database.engine.connect() as acceptance:
        transaction = await acceptance.begin()
        await acceptance.execute(select(Payment.id).where(Payment.id == held.id).with_for_update())
        refund = asyncio.create_task(shop.as_admin("done", confirm_data(asked), admin=OTHER_ADMIN))
        await waiting_on_a_lock(database, 1)  # Confirm read the order as held and waits for the payment
        await acceptance.execute(update(Payment).where(Payment.id == held.id).values(status="paid"))
        await acceptance.execute(update(Order).where(Order.id == order.id).values(status="paid"))
        await transaction.commit()
        refunded = await refund
    assert (refunded.refused, said(refunded)) == (True, CHANGED.format(code=order.code))
    assert await open_refunds(database, held.id) == []


# --- Paystack: Verify outside the transaction --------------------------------------------------------------


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with paystack_rig(database, vault, clock, tmp_path) as running:
        yield running


async def transactions_open(database: Database) -> int:
    """How many transactions of the app are open on the database right now, as another connection sees it."""
    if database.dialect == "postgresql":
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        )
        async with database.engine.connect() as watcher:
            return int(await watcher.scalar(query) or 0)
    path = database.url.split("///", 1)[1]
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")  # refused at once while another connection holds the write lock
        probe.execute("ROLLBACK")
        return 0
    except sqlite3.OperationalError:
        return 1
    finally:
        probe.close()


def seen_during_verify(rig: Rig) -> list[int]:
    """Paystack answers Verify as always; while it does, the database is looked at from outside."""
    seen: list[int] = []
    answer = rig.sim.handle

    async def handle(request: SimRequest) -> SimResponse:
        if request.path.startswith("/transaction/verify"):
            seen.append(await transactions_open(rig.database))
        return await answer(request)

    rig.sim.handle = handle  # type: ignore[method-assign]
    return seen


async def test_verify_for_an_acceptance_is_asked_with_no_transaction_open(rig: Rig) -> None:
    payment = await rig.start(42000)
    await rig.pay(payment, "abandoned")
    await forged_success(rig, payment)
    held = await rig.payment(payment.id)
    order = await rig.order(held)
    seen = seen_during_verify(rig)

    refused = await as_admin(rig, Inbound.cmd("accept", order.code))
    assert refused.refused is True
    assert said(refused) == REFUSED.format(code=order.code, said='"abandoned" (KES 420)', held="KES 420")
    rig.sim.transaction(payment.reference).status = "success"  # Paystack itself now says the money came
    accepted = await as_admin(rig, Inbound.pressed(f"acc.1:{held.id}"))
    assert accepted.messages == [] and accepted.notice == (
        f"✅ Order {order.code} is paid: KES 420 accepted as received. The customer has been sent a receipt."
    )

    assert seen == [0, 0]  # the update's transaction was committed before each call, none held during it
    after = await rig.payment(payment.id)
    assert (after.status, (await rig.order(after)).status) == (PaymentStatus.PAID, "paid")
