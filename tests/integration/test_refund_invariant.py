"""The refunded total is the database's invariant: whichever path records a refund, and whether or not it locked the
payment first, the refunds applied never add up to more than was paid, and a refund in another currency is refused.

The race runs where races exist: PostgreSQL, twenty connections truly concurrent, none of them taking the payment's
lock that ``/refund`` and the Paystack path take."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, Order, OutboxMessage, Payment, PaymentEvent
from core.money import Money
from core.vault import Vault
from payments.attempts import open_payment
from payments.base import Outcome, ProviderEvent
from payments.paystack.signature import sign
from payments.service import EventResult, apply_event
from payments.states import PaymentStatus
from tests.integration.test_paystack_checkout import KEY, Rig, paystack_rig
from tests.support.seed import Shop, seed_shop

CHAT = 5001
PAID = 42000


async def paid_order(database: Database, shop: Shop, clock: FakeClock, provider: str = "manual") -> Payment:
    """An order of KES 420, paid in full by one payment."""
    now = clock.now()
    async with database.uow() as uow:
        customer = Customer(
            tenant_id=shop.tenant_id, tg_user_id=CHAT, chat_id=CHAT, display_name="Wanjiru", created_at=now
        )
        uow.session.add(customer)
        await uow.session.flush()
        order = Order(
            tenant_id=shop.tenant_id,
            customer_id=customer.id,
            code="RF0001",
            status="awaiting_payment",
            total_minor=PAID,
            currency="KES",
            contact_name="Wanjiru Kamau",
            contact_phone="+254712345678",
            delivery_method="pickup",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(order)
        await uow.session.flush()
        payment = await open_payment(uow.session, order, provider, PaymentStatus.AWAITING_PROOF, now)
        paid = ProviderEvent(provider, f"paid:{payment.reference}", payment.reference, Outcome.PAID, Money(PAID, "KES"))
        assert (await apply_event(uow.session, shop.tenant_id, paid, clock)).moved
        await uow.commit()
        return payment


def refund(payment: Payment, key: str, amount: Money) -> ProviderEvent:
    return ProviderEvent(payment.provider, key, payment.reference, Outcome.REFUNDED, amount)


async def reload(database: Database, payment_id: int) -> Payment:
    async with database.uow() as uow:
        payment = await uow.session.get(Payment, payment_id)
    assert payment is not None
    return payment


async def texts(database: Database, chat: int) -> list[str]:
    async with database.uow() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
        )
        return [str(row.payload.get("text", "")) for row in rows]


@pytest.mark.postgres
async def test_twenty_concurrent_refunds_without_a_lock_never_exceed_what_was_paid(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("a race between connections: PostgreSQL only (SQLite lets one writer in at a time)")
    shop = await seed_shop(database, vault, clock)
    payment = await paid_order(database, shop, clock)
    racers = Database(database.url, pool_size=20, max_overflow=0)  # one connection each, all at once
    everyone_in = asyncio.Barrier(20)

    async def refund_3000(n: int) -> EventResult:
        async with racers.uow() as uow:
            # Each transaction has its connection and has read before any of them writes: truly concurrent.
            await uow.session.execute(text("SELECT 1"))
            await everyone_in.wait()
            applied = await apply_event(
                uow.session, shop.tenant_id, refund(payment, f"refund:race:{n}", Money(3000, "KES")), clock
            )
            await uow.commit()
            return applied.result

    try:
        results = await asyncio.gather(*(refund_3000(n) for n in range(20)))
    finally:
        await racers.dispose()

    # KES 420 holds fourteen refunds of KES 30; the other six are refused, whatever the order they came in.
    assert sorted(results) == sorted([EventResult.APPLIED] * 14 + [EventResult.REFUSED] * 6)
    after = await reload(database, payment.id)
    assert (after.status, after.refunded_minor) == (PaymentStatus.REFUNDED, PAID)
    async with database.uow() as uow:
        recorded = list(
            await uow.session.scalars(
                select(PaymentEvent.result)
                .where(PaymentEvent.event_key.like("refund:race:%"))
                .order_by(PaymentEvent.id)
            )
        )
    assert sorted(recorded) == sorted(["applied"] * 14 + ["refused"] * 6)
    told = await texts(database, CHAT)
    assert told.count("A refund of KES 30 for order RF0001 is on its way back to you.") == 14
    refused = (
        "⚠️ A refund of KES 30 for order RF0001 was not applied: KES 30 more would refund more than was paid "
        "(KES 420, of which KES 420 is refunded already). Nothing was changed."
    )
    assert (await texts(database, shop.admin_id)).count(refused) == 6


async def test_a_refund_in_another_currency_or_beyond_what_was_paid_is_refused(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    payment = await paid_order(database, shop, clock)

    async with database.uow() as uow:
        in_dollars = await apply_event(uow.session, shop.tenant_id, refund(payment, "r:usd", Money(100, "USD")), clock)
        too_much = await apply_event(uow.session, shop.tenant_id, refund(payment, "r:big", Money(42001, "KES")), clock)
        part = await apply_event(uow.session, shop.tenant_id, refund(payment, "r:part", Money(2000, "KES")), clock)
        await uow.commit()

    assert (in_dollars.result, in_dollars.why) == (
        EventResult.REFUSED,
        "the refund is in another currency (USD 1) than the payment (KES)",
    )
    assert too_much.result is EventResult.REFUSED
    assert part.result is EventResult.APPLIED
    after = await reload(database, payment.id)
    assert (after.status, after.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)
    assert [t for t in await texts(database, CHAT) if "refund" in t] == [
        "A refund of KES 20 for order RF0001 is on its way back to you."
    ]
    assert (await texts(database, shop.admin_id))[-2:] == [
        "⚠️ A refund of USD 1 for order RF0001 was not applied: the refund is in another currency (USD 1) than the "
        "payment (KES). Nothing was changed.",
        "⚠️ A refund of KES 420.01 for order RF0001 was not applied: KES 420.01 more would refund more than was paid "
        "(KES 420, of which KES 0 is refunded already). Nothing was changed.",
    ]


async def test_the_database_refuses_a_refunded_total_beyond_what_was_paid(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    payment = await paid_order(database, shop, clock)
    async with database.uow() as uow:
        with pytest.raises(IntegrityError):
            await uow.session.execute(update(Payment).where(Payment.id == payment.id).values(refunded_minor=PAID + 1))
    async with database.uow() as uow:
        with pytest.raises(IntegrityError):
            await uow.session.execute(update(Payment).where(Payment.id == payment.id).values(refunded_minor=-1))
    assert (await reload(database, payment.id)).refunded_minor == 0


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with paystack_rig(database, vault, clock, tmp_path) as running:
        yield running


async def test_a_paystack_refund_beyond_what_was_paid_is_refused_and_the_merchant_told(rig: Rig) -> None:
    payment = await rig.start(42000)
    await rig.pay(payment)
    order = await rig.order(await rig.payment(payment.id))
    body = {
        "event": "refund.processed",
        "data": {
            "status": "processed",
            "transaction_reference": payment.reference,
            "refund_reference": "RR-990001",
            "amount": "50000",
            "currency": "KES",
            "domain": "test",
            "id": 990001,
        },
    }
    raw = json.dumps(body).encode()
    assert (await rig.post(raw, sign(raw, KEY)))[0] == 200  # signed by the shop's key: believed, then checked

    after = await rig.payment(payment.id)
    assert (after.status, after.refunded_minor) == (PaymentStatus.PAID, 0)
    assert [t for t in await rig.texts() if "refund" in t.lower()] == []
    assert [t for t in await rig.texts(rig.shop.admin_id) if "refund" in t.lower()] == [
        f"⚠️ A refund of KES 500 for order {order.code} was not applied: KES 500 more would refund more than was paid "
        "(KES 420, of which KES 0 is refunded already). Nothing was changed."
    ]
