"""Paystack's chat step (payments.paystack.chat): limits explained before any call, the email step."""

from __future__ import annotations

from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, Order, Payment, ProviderConfig, Tenant
from core.vault import Vault
from flows import router
from flows.context import Reply
from flows.inbound import Actor, Inbound, Kind
from payments.paystack import chat as paystack
from tests.support.seed import seed_shop

CHAT = 5001


async def _order(database: Database, vault: Vault, clock: FakeClock, minor: int, options: dict[str, object]) -> int:
    shop = await seed_shop(database, vault, clock)
    async with database.uow() as uow:
        uow.session.add(
            ProviderConfig(
                tenant_id=shop.tenant_id, provider="paystack", enabled=True, options=options, updated_at=clock.now()
            )
        )
        customer = Customer(
            tenant_id=shop.tenant_id, tg_user_id=CHAT, chat_id=CHAT, display_name="W", created_at=clock.now()
        )
        uow.session.add(customer)
        await uow.session.flush()
        order = Order(
            tenant_id=shop.tenant_id,
            customer_id=customer.id,
            code="PSFLOW",
            status="awaiting_payment",
            total_minor=minor,
            currency="KES",
            contact_name="W",
            contact_phone="+254712345678",
            delivery_method="pickup",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        uow.session.add(order)
        await uow.commit()
        return order.id


async def _step(database: Database, clock: FakeClock, order_id: int, text: str | None = None) -> tuple[Reply, str]:
    async with database.uow() as uow:
        tenant = await uow.session.scalar(select(Tenant))
        assert tenant is not None
        ctx = await router.open_context(
            uow.session, tenant, Actor(CHAT, CHAT, "W"), clock, frozenset({"manual", "paystack"})
        )
        if text is None:
            order = await uow.session.get(Order, order_id)
            config = await uow.session.scalar(select(ProviderConfig).where(ProviderConfig.provider == "paystack"))
            assert order is not None and config is not None
            reply = await paystack.begin(ctx, order, config)
        else:
            reply = await router.handle(ctx, Inbound(kind=Kind.TEXT, text=text))
        step = ctx.conversation.step
        await uow.commit()
    return reply, step


async def test_an_amount_below_the_minimum_is_explained_with_another_way_to_pay(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    order_id = await _order(database, vault, clock, 250, {})
    reply, _ = await _step(database, clock, order_id)
    (message,) = reply.messages
    assert "at least KES 3" in message.text and "KES 2.50" in message.text and reply.start_payment is None
    assert message.buttons[0][0].data == f"retry.1:{order_id}"


async def test_the_shop_that_asks_for_an_email_gets_one_first(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    order_id = await _order(database, vault, clock, 42000, {"ask_email": True})
    reply, step = await _step(database, clock, order_id)
    assert "type your email address" in reply.messages[0].text and step == "paystack.email"
    reply, step = await _step(database, clock, order_id, "not an email")
    assert reply.refused and "name@example.com" in reply.messages[0].text and step == "paystack.email"
    reply, step = await _step(database, clock, order_id, " wanjiru@mail.example ")
    assert reply.start_payment is not None and step == "idle"
    async with database.uow() as uow:
        customer = await uow.session.scalar(select(Customer))
        payment = await uow.session.get(Payment, reply.start_payment)
    assert customer is not None and customer.email == "wanjiru@mail.example"
    assert payment is not None and (payment.provider, payment.status) == ("paystack", "created")
    # Once known, the email is not asked again.
    reply, _ = await _step(database, clock, order_id)
    assert reply.start_payment == payment.id + 1  # the next attempt starts at once
