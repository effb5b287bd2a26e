"""Stock leaves the shelf at payment, and money held for review is accepted once, by an admin, with one receipt."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from admin import chat, review
from admin.refunds import refund_command
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import AuditEntry, Customer, Order, OrderItem, OutboxMessage, Payment, Product, Tenant
from core.messages import Message
from core.money import Money
from core.vault import Vault
from flows import payment as payment_flow
from flows import router
from flows.context import Reply
from flows.inbound import Actor, Inbound
from payments import manual
from payments.attempts import open_payment
from payments.base import Outcome, ProviderEvent
from payments.service import EventResult, apply_event
from payments.states import OrderStatus, PaymentStatus
from tests.support.refunds import refund_confirmed
from tests.support.seed import Shop, seed_shop

CUSTOMER = Actor(tg_user_id=5001, chat_id=5001, display_name="Wanjiru")
SUGAR, TEA = "SUGAR-1KG", "TEA-500G"  # 3 in stock; no stock count


@dataclass
class Shelf:
    database: Database
    clock: FakeClock
    shop: Shop

    async def order(self, lines: dict[str, int], *, chat: int = CUSTOMER.chat_id) -> Payment:
        """A placed order of ``lines`` (sku -> quantity) with a manual attempt waiting for proof."""
        now = self.clock.now()
        async with self.database.uow() as uow:
            session = uow.session
            customer = await session.scalar(
                select(Customer).where(Customer.tenant_id == self.shop.tenant_id, Customer.chat_id == chat)
            )
            if customer is None:
                customer = Customer(
                    tenant_id=self.shop.tenant_id, tg_user_id=chat, chat_id=chat, display_name="Wanjiru", created_at=now
                )
                session.add(customer)
                await session.flush()
            products = {p.sku: p for p in await session.scalars(select(Product))}
            total = sum(products[sku].price_minor * quantity for sku, quantity in lines.items())
            count = len(list(await session.scalars(select(Order.id))))
            order = Order(
                tenant_id=self.shop.tenant_id,
                customer_id=customer.id,
                code=f"ST{count + 1:04d}",
                status=OrderStatus.AWAITING_PAYMENT.value,
                total_minor=total,
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
                    quantity=quantity,
                )
                for sku, quantity in lines.items()
            ]
            session.add(order)
            await session.flush()
            payment = await open_payment(session, order, "manual", PaymentStatus.AWAITING_PROOF, now)
            await uow.commit()
            return payment

    async def another_attempt(self, payment: Payment) -> Payment:
        """A second manual attempt on the same order (a customer who will pay twice)."""
        async with self.database.uow() as uow:
            order = await uow.session.get(Order, payment.order_id)
            assert order is not None
            second = await open_payment(uow.session, order, "manual", PaymentStatus.AWAITING_PROOF, self.clock.now())
            await uow.commit()
            return second

    async def pay(self, payment: Payment, minor: int | None = None, key: str | None = None) -> EventResult:
        event = ProviderEvent(
            provider="manual",
            event_key=key or f"paid:{payment.id}",
            payment_reference=payment.reference,
            outcome=Outcome.PAID,
            amount=Money(payment.amount_minor if minor is None else minor, "KES"),
            provider_txn_id=f"TXN{payment.id}{minor or ''}",
        )
        async with self.database.uow() as uow:
            applied = await apply_event(uow.session, self.shop.tenant_id, event, self.clock)
            await uow.commit()
        return applied.result

    async def stock(self, sku: str) -> int | None:
        async with self.database.uow() as uow:
            return await uow.session.scalar(select(Product.stock).where(Product.sku == sku))

    async def payment(self, payment_id: int) -> tuple[Payment, Order]:
        async with self.database.uow() as uow:
            payment = await uow.session.get(Payment, payment_id)
            assert payment is not None
            order = await uow.session.get(Order, payment.order_id)
            assert order is not None
            return payment, order

    async def texts(self, chat: int) -> list[str]:
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
            )
            return [str(row.payload.get("text", "")) for row in rows]

    async def alerts(self) -> list[OutboxMessage]:
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == self.shop.admin_id).order_by(OutboxMessage.id)
            )
            return list(rows)

    async def as_admin(self, action: str, argument: str | int, *, admin: int | None = None) -> Reply:
        """An admin's ``/accept CODE`` ("command"), press of the Accept button ("button", a payment id),
        ``/refund CODE [AMOUNT]`` and its Confirm ("refund"), ``/refund`` alone ("ask"), or press of a refund's
        Confirm or a refund task's Done button ("done", its callback data)."""
        who = admin or self.shop.admin_id
        if action == "refund":
            return await refund_confirmed(self.database, self.clock, self.shop.tenant_id, who, str(argument))
        async with self.database.uow() as uow:
            tenant = await uow.session.get(Tenant, self.shop.tenant_id)
            assert tenant is not None
            ctx = await router.open_context(uow.session, tenant, Actor(who, who, "Mama"), self.clock)
            if action == "ask":
                reply = await refund_command(ctx, str(argument))
            elif action == "done":
                reply = await chat.handle(ctx, Inbound.pressed(str(argument)))
            elif action == "command":
                reply = await review.accept_command(ctx, str(argument))
            else:
                reply = await review.accept_button(ctx, int(argument))
            await uow.commit()
        return reply

    async def audit(self) -> list[tuple[str, str | None, bool]]:
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            return [(row.action, row.target, row.allowed) for row in rows]


async def shelf(database: Database, vault: Vault, clock: FakeClock) -> Shelf:
    return Shelf(database, clock, await seed_shop(database, vault, clock))


def said(reply: Reply) -> str:
    return "\n".join(message.text for message in reply.messages)


async def test_a_paid_order_takes_its_stock_and_unlimited_products_stay_unlimited(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    placed = await shop.order({SUGAR: 2, TEA: 5})
    assert await shop.stock(SUGAR) == 3  # placing an order holds nothing
    assert await shop.pay(placed) is EventResult.APPLIED
    assert (await shop.stock(SUGAR), await shop.stock(TEA)) == (1, None)
    assert await shop.pay(placed, key="the same money, reported again") is EventResult.DUPLICATE
    assert await shop.stock(SUGAR) == 1  # taken once
    (alert,) = await shop.alerts()
    assert "is paid" in alert.payload["text"] and "Not enough stock" not in alert.payload["text"]


async def test_the_last_units_paid_for_twice_are_flagged_to_the_merchant(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    first = await shop.order({SUGAR: 2})
    second = await shop.order({SUGAR: 2}, chat=5002)  # both placed while 3 were left
    await shop.pay(first)
    await shop.pay(second)
    assert await shop.stock(SUGAR) == 0  # never below zero
    _, paid_second = await shop.payment(second.id)
    assert paid_second.status == OrderStatus.PAID  # the money is real: the order is paid, and the merchant decides
    first_alert, second_alert = (alert.payload["text"] for alert in await shop.alerts())
    assert "Not enough stock" not in first_alert
    assert "Not enough stock was left for: Sugar 1kg" in second_alert and "refund" in second_alert


async def test_a_method_chosen_after_the_stock_ran_out_cancels_the_unpaid_order(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    async with database.uow() as uow:  # the customer exists as the chat knows them
        tenant = await uow.session.get(Tenant, shop.shop.tenant_id)
        assert tenant is not None
        await router.open_context(uow.session, tenant, CUSTOMER, clock)
        await uow.commit()
    late = await shop.order({SUGAR: 2})
    await shop.pay(await shop.order({SUGAR: 2}, chat=5002))  # someone else paid first: 1 left
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.shop.tenant_id)
        assert tenant is not None
        ctx = await router.open_context(uow.session, tenant, CUSTOMER, clock)
        assert manual.INFO.button_code is not None
        reply = await payment_flow.choose(ctx, late.order_id, manual.INFO.button_code)
        await uow.commit()
    assert "Sugar 1kg sold out before this order was paid. Nothing was charged" in said(reply)
    _, order = await shop.payment(late.id)
    assert order.status == OrderStatus.CANCELLED
    assert await shop.stock(SUGAR) == 1


async def test_money_held_for_review_is_accepted_once_with_one_receipt(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    held = await shop.order({SUGAR: 1})
    assert await shop.pay(held, minor=18000) is EventResult.NEEDS_REVIEW  # KES 10 short of KES 190
    (alert,) = await shop.alerts()
    assert accept_buttons(alert) == [f"acc.1:{held.id}"]
    assert await shop.stock(SUGAR) == 3  # nothing taken while the merchant decides

    done = await shop.as_admin("button", held.id)
    # One answer to one press, the toast; the alert itself is edited into the acceptance, without its Accept button.
    assert done.messages == []
    assert done.notice == "✅ Order ST0001 is paid: KES 180 accepted as received. The customer has been sent a receipt."
    again = await shop.as_admin("command", "st0001")  # a second admin, a moment later
    assert "already accepted" in said(again)

    payment, order = await shop.payment(held.id)
    assert (payment.status, payment.paid_minor, order.status) == (PaymentStatus.PAID, 18000, OrderStatus.PAID)
    assert await shop.stock(SUGAR) == 2
    receipts = [t for t in await shop.texts(CUSTOMER.chat_id) if "KES 180" in t and "ST0001" in t]
    assert len(receipts) == 1
    assert [entry for entry in await shop.audit() if entry[0] == "payment.accepted"] == [
        ("payment.accepted", "ST0001", True)
    ]
    # The merchant did it: no "paid" alert about their own decision, only the alert edited to say who accepted it.
    first, edit = await shop.alerts()
    assert (first.id, Message.from_payload(edit.payload).replaces) == (alert.id, alert.dedupe_key)
    shown = Message.from_payload(alert.payload).text
    assert Message.from_payload(edit.payload).text == f"{shown}\n\n✅ Accepted as received by Mama, 15 Jan 12:00 EAT."
    assert accept_buttons(edit) == []


async def test_money_for_an_order_paid_another_way_cannot_be_accepted(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    first = await shop.order({TEA: 1})
    second = await shop.another_attempt(first)
    await shop.pay(first)
    assert await shop.pay(second) is EventResult.NEEDS_REVIEW  # the customer paid twice
    review_alert = (await shop.alerts())[-1]
    assert accept_buttons(review_alert) == []

    refused = await shop.as_admin("command", "ST0001")
    assert refused.refused and "already paid by another payment" in said(refused) and "/refund" in said(refused)
    button = await shop.as_admin("button", second.id)
    assert button.refused
    held, order_after = await shop.payment(second.id)
    assert (held.status, order_after.status) == (PaymentStatus.NEEDS_REVIEW, OrderStatus.PAID)
    assert ("payment.accept", "ST0001", False) in await shop.audit()


async def test_accept_with_nothing_held_or_another_shops_order_changes_nothing(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    other = await seed_shop(
        database, vault, clock, slug="fundi", name="Fundi", bot_token="222222:AAE-fundi-000000000000000000000"
    )
    unpaid = await shop.order({TEA: 1})
    assert "Usage: /accept CODE" in said(await shop.as_admin("command", ""))
    nothing = await shop.as_admin("command", "ST0001")
    assert nothing.refused and "has no payment waiting for your review" in said(nothing)
    assert "No order NOPE in this shop" in said(await shop.as_admin("command", "nope"))
    elsewhere = Shelf(database, clock, other)
    assert "No order ST0001 in this shop" in said(await elsewhere.as_admin("command", "ST0001"))
    assert (await elsewhere.as_admin("button", unpaid.id)).notice  # a stale button in the other shop
    payment, order = await shop.payment(unpaid.id)
    assert (payment.status, order.status) == (PaymentStatus.AWAITING_PROOF, OrderStatus.AWAITING_PAYMENT)


def accept_buttons(alert: OutboxMessage) -> list[str]:
    message = Message.from_payload(alert.payload)
    return [b.data or "" for row in message.buttons for b in row if "Accept" in b.text]


async def test_a_second_payment_for_a_paid_order_is_the_one_refunded(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    first = await shop.order({TEA: 1})
    second = await shop.another_attempt(first)
    await shop.pay(first)
    await shop.pay(second)  # the customer paid twice: the second is held for review

    refunded = await shop.as_admin("refund", "ST0001")
    assert not refunded.refused and "send KES 350 to Wanjiru Kamau, 0712 345 678 for order ST0001" in said(refunded)
    await shop.as_admin("done", refunded.messages[0].buttons[0][0].data or "")
    (kept, order_after), (sent_back, _) = await shop.payment(first.id), await shop.payment(second.id)
    assert (kept.status, sent_back.status) == (PaymentStatus.PAID, PaymentStatus.REFUNDED)
    assert order_after.status == OrderStatus.PAID  # still paid, by the first payment
    assert "The shop has sent you KES 350 back for order ST0001." in await shop.texts(CUSTOMER.chat_id)


async def test_money_held_for_review_is_refunded_whole(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await shelf(database, vault, clock)
    held = await shop.order({SUGAR: 1})
    await shop.pay(held, minor=18000)
    partial = await shop.as_admin("refund", "ST0001 50")
    assert partial.refused and "refunded whole (KES 180)" in said(partial) and "/accept ST0001" in said(partial)
    payment, order = await shop.payment(held.id)
    assert (payment.status, order.status) == (PaymentStatus.NEEDS_REVIEW, OrderStatus.NEEDS_REVIEW)

    whole = await shop.as_admin("refund", "ST0001")
    assert "send KES 180 to Wanjiru Kamau, 0712 345 678 for order ST0001" in said(whole)
    assert (await shop.as_admin("command", "ST0001")).refused  # money promised back cannot be accepted meanwhile
    await shop.as_admin("done", whole.messages[0].buttons[0][0].data or "")
    payment, order = await shop.payment(held.id)
    assert (payment.status, payment.refunded_minor, order.status) == (
        PaymentStatus.REFUNDED,
        18000,
        OrderStatus.REFUNDED,
    )
    assert (await shop.as_admin("command", "ST0001")).refused  # nothing left to accept
    assert await shop.stock(SUGAR) == 3  # never taken
