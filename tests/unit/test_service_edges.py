"""``apply_event`` at its edges: what each outcome answers the caller, and what the payment, the order and the chats
show afterwards, for the paths the journeys pass by (acceptance, refunds in steps, events that cannot move)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, Order, OrderItem, OutboxMessage, Payment, Product
from core.money import Money
from core.vault import Vault
from payments.attempts import open_payment
from payments.base import Outcome, ProviderEvent
from payments.service import Applied, EventResult, apply_event
from payments.states import OrderStatus, PaymentStatus
from tests.support.seed import Shop, seed_shop

CHAT = 5001
SUGAR = "SUGAR-1KG"  # KES 190, 3 in stock


@dataclass
class Till:
    database: Database
    clock: FakeClock
    shop: Shop

    async def order(
        self, lines: dict[str, int], provider: str = "manual", status: PaymentStatus = PaymentStatus.AWAITING_PROOF
    ) -> Payment:
        now = self.clock.now()
        async with self.database.uow() as uow:
            session = uow.session
            customer = await session.scalar(select(Customer).where(Customer.chat_id == CHAT))
            if customer is None:
                customer = Customer(
                    tenant_id=self.shop.tenant_id, tg_user_id=CHAT, chat_id=CHAT, display_name="Wanjiru", created_at=now
                )
                session.add(customer)
                await session.flush()
            products = {p.sku: p for p in await session.scalars(select(Product))}
            placed = len(list(await session.scalars(select(Order.id))))
            order = Order(
                tenant_id=self.shop.tenant_id,
                customer_id=customer.id,
                code=f"SE{placed + 1:04d}",
                status=OrderStatus.AWAITING_PAYMENT.value,
                total_minor=sum(products[sku].price_minor * n for sku, n in lines.items()),
                currency="KES",
                contact_name="Wanjiru Kamau",
                contact_phone="+254712345678",
                delivery_method="pickup",
                created_at=now,
                updated_at=now,
            )
            order.items = [
                OrderItem(
                    product_id=products[sku].id,
                    sku=sku,
                    name=products[sku].name,
                    unit_price_minor=products[sku].price_minor,
                    quantity=n,
                )
                for sku, n in lines.items()
            ]
            session.add(order)
            await session.flush()
            payment = await open_payment(session, order, provider, status, now)
            await uow.commit()
            return payment

    async def another_attempt(self, payment: Payment) -> Payment:
        async with self.database.uow() as uow:
            order = await uow.session.get(Order, payment.order_id)
            assert order is not None
            second = await open_payment(uow.session, order, "manual", PaymentStatus.AWAITING_PROOF, self.clock.now())
            await uow.commit()
            return second

    async def event(self, payment: Payment, outcome: Outcome, key: str, minor: int | None = None) -> Applied:
        event = ProviderEvent(
            provider=payment.provider,
            event_key=key,
            payment_reference=payment.reference,
            outcome=outcome,
            amount=None if minor is None else Money(minor, "KES"),
            provider_txn_id=f"TXN{key.upper().replace(':', '')}" if outcome is Outcome.PAID else None,
        )
        async with self.database.uow() as uow:
            applied = await apply_event(uow.session, self.shop.tenant_id, event, self.clock)
            await uow.commit()
        return applied

    async def state(self, payment: Payment) -> tuple[str, int, str]:
        """The payment's status and refunded total, and its order's status."""
        async with self.database.uow() as uow:
            row = await uow.session.get(Payment, payment.id)
            assert row is not None
            order = await uow.session.get(Order, row.order_id)
            assert order is not None
            return row.status, row.refunded_minor, order.status

    async def texts(self, chat: int) -> list[str]:
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
            )
            return [str(row.payload["text"]) for row in rows]


async def till(database: Database, vault: Vault, clock: FakeClock) -> Till:
    return Till(database, clock, await seed_shop(database, vault, clock))


def seen(applied: Applied) -> tuple[EventResult, int | None, PaymentStatus | None]:
    return applied.result, applied.payment.id if applied.payment else None, applied.status


async def test_accepting_held_mpesa_money_pays_the_order_with_a_receipt_of_the_moment_accepted(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    held = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)
    assert seen(await shop.event(held, Outcome.PAID, "paid:1", minor=18000)) == (
        EventResult.NEEDS_REVIEW,
        held.id,
        PaymentStatus.NEEDS_REVIEW,
    )
    clock.advance(hours=2)

    accepted = await shop.event(held, Outcome.ACCEPTED, "accepted:1")

    assert seen(accepted) == (EventResult.APPLIED, held.id, PaymentStatus.PAID)
    assert await shop.state(held) == ("paid", 0, "paid")
    assert (await shop.texts(CHAT))[-1] == (
        "✅ Payment received. Thank you!\nOrder: SE0001\nAmount: KES 180\nM-Pesa receipt: TXNPAID1\n"
        "Time: 15 Jan 2026, 14:00 EAT"
    )


async def test_accepting_what_the_stock_no_longer_covers_alerts_the_merchant_as_an_ordinary_payment(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    held = await shop.order({SUGAR: 4})  # 3 in stock
    await shop.event(held, Outcome.PAID, "paid:1", minor=70000)  # KES 60 short: held for review

    assert seen(await shop.event(held, Outcome.ACCEPTED, "accepted:1")) == (
        EventResult.APPLIED,
        held.id,
        PaymentStatus.PAID,
    )
    assert (await shop.texts(shop.shop.admin_id))[-1] == (
        "💰 Order SE0001 is paid: KES 700 by manual payment from Wanjiru Kamau.\n"
        "📦 Not enough stock was left for: Sugar 1kg. Restock, or refund the customer."
    )


async def test_an_acceptance_that_cannot_apply_is_ignored_and_changes_nothing(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    paid = await shop.order({SUGAR: 1})
    await shop.event(paid, Outcome.PAID, "paid:1", minor=19000)
    # The order is paid, not waiting on a review.
    assert seen(await shop.event(paid, Outcome.ACCEPTED, "accepted:1")) == (
        EventResult.IGNORED,
        paid.id,
        PaymentStatus.PAID,
    )

    held = await shop.order({SUGAR: 1})
    other = await shop.another_attempt(held)
    await shop.event(held, Outcome.PAID, "paid:2", minor=100)  # the order now waits on a review of ``held``
    # ``other`` holds no money: the order's review is not about it.
    assert seen(await shop.event(other, Outcome.ACCEPTED, "accepted:2")) == (
        EventResult.IGNORED,
        other.id,
        PaymentStatus.AWAITING_PROOF,
    )
    assert await shop.state(other) == ("awaiting_proof", 0, "needs_review")


async def test_a_refund_without_an_amount_returns_what_is_left_after_a_partial_one(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    paid = await shop.order({SUGAR: 2})
    await shop.event(paid, Outcome.PAID, "paid:1", minor=38000)

    assert seen(await shop.event(paid, Outcome.REFUNDED, "refund:1", minor=10000)) == (
        EventResult.APPLIED,
        paid.id,
        PaymentStatus.PARTIALLY_REFUNDED,
    )
    assert await shop.state(paid) == ("partially_refunded", 10000, "paid")
    assert seen(await shop.event(paid, Outcome.REFUNDED, "refund:2")) == (
        EventResult.APPLIED,
        paid.id,
        PaymentStatus.REFUNDED,
    )
    assert await shop.state(paid) == ("refunded", 38000, "refunded")
    assert (await shop.texts(CHAT))[-2:] == [
        "A refund of KES 100 for order SE0001 is on its way back to you.",
        "A refund of KES 280 for order SE0001 is on its way back to you.",
    ]


async def test_a_refund_of_money_never_received_is_ignored(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await till(database, vault, clock)
    unpaid = await shop.order({SUGAR: 1})

    assert seen(await shop.event(unpaid, Outcome.REFUNDED, "refund:1", minor=19000)) == (
        EventResult.IGNORED,
        unpaid.id,
        PaymentStatus.AWAITING_PROOF,
    )
    assert await shop.state(unpaid) == ("awaiting_proof", 0, "awaiting_payment")
    assert await shop.texts(CHAT) == []


async def test_refunding_the_only_payment_that_holds_money_refunds_the_order(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    abandoned = await shop.order({SUGAR: 1})
    paid = await shop.another_attempt(abandoned)
    await shop.event(abandoned, Outcome.CANCELLED, "cancel:1")  # an attempt that ended with no money
    await shop.event(paid, Outcome.PAID, "paid:1", minor=19000)

    await shop.event(paid, Outcome.REFUNDED, "refund:1", minor=19000)

    assert await shop.state(paid) == ("refunded", 19000, "refunded")
    assert (await shop.state(abandoned))[0] == "cancelled"
