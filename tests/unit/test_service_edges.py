"""``apply_event`` at its edges: what each outcome answers the caller, and what the payment, the order and the chats
show afterwards, for the paths the journeys pass by (acceptance, refunds in steps, events that cannot move)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, Order, OrderItem, OutboxMessage, Payment, PaymentEvent, Product
from core.messages import Message
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

    async def event(
        self, payment: Payment, outcome: Outcome, key: str, minor: int | None = None, **fields: Any
    ) -> Applied:
        fields.setdefault("provider_txn_id", f"TXN{key.upper().replace(':', '')}" if outcome is Outcome.PAID else None)
        event = ProviderEvent(
            provider=payment.provider,
            event_key=key,
            payment_reference=payment.reference,
            outcome=outcome,
            amount=None if minor is None else Money(minor, fields.pop("currency", "KES")),
            **fields,
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

    async def buttons(self, chat: int) -> list[list[str]]:
        """The button labels of each message owed to ``chat``."""
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
            )
            return [[b.text for line in Message.from_payload(r.payload).buttons for b in line] for r in rows]

    async def paid_as(self, payment: Payment) -> tuple[int | None, str | None, str | None]:
        """What the payment records of the money: amount, provider's transaction id, reason."""
        async with self.database.uow() as uow:
            row = await uow.session.get(Payment, payment.id)
            assert row is not None
            return row.paid_minor, row.provider_txn_id, row.reason

    async def set_provider_ref(self, payment: Payment, ref: str) -> None:
        async with self.database.uow() as uow:
            await uow.session.execute(update(Payment).where(Payment.id == payment.id).values(provider_ref=ref))
            await uow.commit()

    async def events(self) -> list[tuple[str, int | None, int | None, str | None, str]]:
        """Each recorded event: key, payment, amount, currency, result."""
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(select(PaymentEvent).order_by(PaymentEvent.id))
            return [(r.event_key, r.payment_id, r.amount_minor, r.currency, r.result) for r in rows]

    async def keys(self, chat: int) -> list[str]:
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
            )
            return list(rows)


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


async def test_the_same_money_reported_again_is_a_duplicate_and_a_second_receipt_goes_to_review(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    paid = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)
    await shop.set_provider_ref(paid, "ws_CO_1")
    await shop.event(paid, Outcome.PAID, "query:1", minor=19000, provider_txn_id=None, provider_ref="ws_CO_1")
    owed = len(await shop.texts(CHAT)), len(await shop.texts(shop.shop.admin_id))

    # The callback of the same attempt brings the receipt number the query had not: recorded, nothing sent.
    again = await shop.event(paid, Outcome.PAID, "stk:1", minor=19000, provider_txn_id="QK1", provider_ref="ws_CO_1")
    assert seen(again) == (EventResult.DUPLICATE, paid.id, None)
    assert await shop.paid_as(paid) == (19000, "QK1", None)
    # The same receipt by C2B, then the same attempt with another receipt: both the same money, QK1 stays.
    assert seen(await shop.event(paid, Outcome.PAID, "c2b:1", minor=19000, provider_txn_id="QK1")) == (
        EventResult.DUPLICATE,
        paid.id,
        None,
    )
    same_attempt = await shop.event(
        paid, Outcome.PAID, "stk:2", minor=19000, provider_txn_id="QK9", provider_ref="ws_CO_1"
    )
    assert seen(same_attempt) == (EventResult.DUPLICATE, paid.id, None)
    assert await shop.paid_as(paid) == (19000, "QK1", None)
    assert (len(await shop.texts(CHAT)), len(await shop.texts(shop.shop.admin_id))) == owed

    # Another attempt's money for the same order: a second payment, for the merchant to look at.
    second = await shop.event(paid, Outcome.PAID, "c2b:2", minor=19000, provider_txn_id="QK2", provider_ref="ws_CO_2")
    assert seen(second) == (EventResult.NEEDS_REVIEW, paid.id, PaymentStatus.PAID)
    assert (await shop.texts(shop.shop.admin_id))[-1] == (
        "⚠️ Order SE0001 needs your review (M-Pesa): a second payment (QK2) arrived for an order that is already paid."
    )
    await shop.event(paid, Outcome.PAID, "c2b:3", minor=19000, provider_txn_id=None, provider_ref="ws_CO_3")
    assert (await shop.texts(shop.shop.admin_id))[-1] == (
        "⚠️ Order SE0001 needs your review (M-Pesa): a second payment (?) arrived for an order that is already paid."
    )
    async with database.uow() as uow:
        keys = await uow.session.scalars(
            select(OutboxMessage.dedupe_key)
            .where(OutboxMessage.chat_id == shop.shop.admin_id)
            .order_by(OutboxMessage.id)
        )
        assert list(keys)[-2:] == [f"review:{paid.id}:c2b:2:to:9001", f"review:{paid.id}:c2b:3:to:9001"]
    assert await shop.state(paid) == ("paid", 0, "paid")


async def test_money_that_does_not_fit_is_held_for_review_with_the_reason(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    short = await shop.order({SUGAR: 1})
    assert seen(await shop.event(short, Outcome.PAID, "paid:1", minor=18000)) == (
        EventResult.NEEDS_REVIEW,
        short.id,
        PaymentStatus.NEEDS_REVIEW,
    )
    assert await shop.state(short) == ("needs_review", 0, "needs_review")
    assert await shop.paid_as(short) == (
        18000,
        "TXNPAID1",
        "the amount received (KES 180) differs from the order total (KES 190)",
    )
    assert (await shop.texts(shop.shop.admin_id))[-1] == (
        "⚠️ Order SE0001 needs your review (manual payment): "
        "the amount received (KES 180) differs from the order total (KES 190)."
    )
    assert (await shop.buttons(shop.shop.admin_id))[-1] == ["📄 View order", "✅ Accept the payment as received"]
    assert await shop.keys(shop.shop.admin_id) == [f"review:{short.id}:to:9001"]
    assert (await shop.texts(CHAT))[-1] == (
        "We received a payment for order SE0001, but it needs a check by the shop. You will hear from us soon."
    )
    # Held already: more money for it waits on the same decision.
    assert seen(await shop.event(short, Outcome.PAID, "paid:2", minor=1000)) == (
        EventResult.IGNORED,
        short.id,
        PaymentStatus.NEEDS_REVIEW,
    )

    foreign = await shop.order({SUGAR: 1})
    await shop.event(foreign, Outcome.PAID, "paid:3", minor=19000, currency="USD")
    assert await shop.paid_as(foreign) == (
        None,
        "TXNPAID3",
        "the amount received (USD 190) differs from the order total (KES 190)",
    )

    flagged = await shop.order({SUGAR: 1})
    await shop.event(flagged, Outcome.PAID, "paid:4", minor=19000, review="account number “RENT” matched no order")
    assert await shop.paid_as(flagged) == (19000, "TXNPAID4", "account number “RENT” matched no order")
    assert await shop.state(flagged) == ("needs_review", 0, "needs_review")


async def test_money_for_an_order_paid_another_way_is_held_and_the_order_stays_paid(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    first = await shop.order({SUGAR: 1})
    second = await shop.another_attempt(first)
    await shop.event(first, Outcome.PAID, "paid:1", minor=19000)

    assert seen(await shop.event(second, Outcome.PAID, "paid:2", minor=19000)) == (
        EventResult.NEEDS_REVIEW,
        second.id,
        PaymentStatus.NEEDS_REVIEW,
    )
    assert await shop.state(second) == ("needs_review", 0, "paid")
    assert (await shop.texts(shop.shop.admin_id))[-1] == (
        "⚠️ Order SE0001 needs your review (manual payment): order SE0001 was already paid by another payment."
    )
    assert (await shop.buttons(shop.shop.admin_id))[-1] == ["📄 View order"]  # refund it; it cannot be accepted


async def test_a_success_after_the_attempt_ended_pays_the_order_and_says_it_came_late(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    late = await shop.order({SUGAR: 1})
    await shop.event(late, Outcome.EXPIRED, "expired:1")
    clock.advance(minutes=5)

    assert seen(await shop.event(late, Outcome.PAID, "paid:1", minor=19000)) == (
        EventResult.APPLIED,
        late.id,
        PaymentStatus.PAID,
    )
    assert await shop.state(late) == ("paid", 0, "paid")
    assert await shop.paid_as(late) == (19000, "TXNPAID1", None)
    assert (await shop.texts(shop.shop.admin_id))[-1] == (
        "💰 Order SE0001 is paid: KES 190 by manual payment from Wanjiru Kamau. Note: the payment arrived after the "
        "attempt had ended; please check before shipping."
    )


async def test_every_event_is_recorded_with_what_it_said_and_what_came_of_it(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    other = Till(
        database,
        clock,
        await seed_shop(database, vault, clock, slug="fundi", name="Fundi", bot_token="222222:AAE-fundi-0000000000000"),
    )
    payment = await shop.order({SUGAR: 1})

    # Another shop cannot touch this shop's payment, even with its reference.
    assert seen(await other.event(payment, Outcome.PAID, "paid:elsewhere", minor=19000)) == (
        EventResult.UNMATCHED,
        None,
        None,
    )
    assert await shop.state(payment) == ("awaiting_proof", 0, "awaiting_payment")
    assert seen(await shop.event(payment, Outcome.PAID, "paid:1", minor=19000)) == (
        EventResult.APPLIED,
        payment.id,
        PaymentStatus.PAID,
    )
    # A repeated event key is refused by the event table's unique key alone: nothing else is read for it.
    assert seen(await shop.event(payment, Outcome.PAID, "paid:1", minor=19000)) == (
        EventResult.DUPLICATE,
        None,
        None,
    )
    assert seen(await shop.event(payment, Outcome.FAILED, "failed:1")) == (
        EventResult.IGNORED,
        payment.id,
        PaymentStatus.PAID,
    )
    assert await shop.events() == [
        ("paid:elsewhere", None, 19000, "KES", "unmatched"),
        ("paid:1", payment.id, 19000, "KES", "applied"),
        ("failed:1", payment.id, None, None, "ignored"),
    ]


async def test_an_ending_moves_the_attempt_and_says_where_it_landed(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    payment = await shop.order({SUGAR: 1})

    assert seen(await shop.event(payment, Outcome.CANCELLED, "cancel:1")) == (
        EventResult.APPLIED,
        payment.id,
        PaymentStatus.CANCELLED,
    )
    assert await shop.state(payment) == ("cancelled", 0, "awaiting_payment")


async def test_money_for_a_payment_another_worker_just_held_for_review_is_ignored(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    payment = await shop.order({SUGAR: 1})
    async with database.uow() as uow:  # moved by another transaction, the order not yet
        await uow.session.execute(update(Payment).where(Payment.id == payment.id).values(status="needs_review"))
        await uow.commit()

    assert seen(await shop.event(payment, Outcome.PAID, "paid:1", minor=19000)) == (
        EventResult.IGNORED,
        payment.id,
        PaymentStatus.NEEDS_REVIEW,
    )
    assert await shop.state(payment) == ("needs_review", 0, "awaiting_payment")
    assert await shop.texts(CHAT) == []
