"""A provider that refuses the shop's own credentials: the customer is told the attempt failed, and the merchant is
told why, through the outbox, once."""

from __future__ import annotations

import secrets

import httpx
from sqlalchemy import select

from admin import shops
from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.customers import CustomerRepository
from core.db.tables import Order, OutboxMessage, Payment
from core.vault import Vault
from payments import jobs
from payments.jobs import JobWorker
from payments.providers import provider_factories
from payments.registry import ProviderDeps, ProviderRegistry
from payments.starter import START, PaymentStarter
from sandbox.paystack.simulator import PaystackSimulator
from tests.support.seed import seed_shop

UNKNOWN_KEY = "sk_test_0000000000000000000000000000000000000000"


async def test_a_refused_key_fails_the_attempt_and_alerts_the_merchant(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    async with database.uow() as uow:
        await shops.set_provider(
            uow.session, vault, shop.slug, "paystack", {"secret_key": UNKNOWN_KEY}, {}, clock.now()
        )
        customer = await CustomerRepository(uow.session).get_or_create(shop.tenant_id, 5001, 5001, "Amina", clock.now())
        order = Order(
            tenant_id=shop.tenant_id,
            customer_id=customer.id,
            code="K7Q2XA",
            status="awaiting_payment",
            total_minor=150000,
            currency="KES",
            contact_name="Amina",
            contact_phone="+254712345678",
            delivery_method="pickup",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        uow.session.add(order)
        await uow.session.flush()
        payment = Payment(
            tenant_id=shop.tenant_id,
            order_id=order.id,
            provider="paystack",
            reference="dkalerttest01",
            status="created",
            amount_minor=150000,
            currency="KES",
            refunded_minor=0,
            callback_token=secrets.token_hex(20),
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        uow.session.add(payment)
        await uow.session.flush()
        await jobs.enqueue(
            uow.session,
            tenant_id=shop.tenant_id,
            kind=START,
            dedupe_key="start",
            payment_id=payment.id,
            now=clock.now(),
        )
        await uow.commit()
        payment_id = payment.id

    simulator = PaystackSimulator(clock=clock)  # it knows no merchant: every key is refused with 401
    async with httpx.AsyncClient(transport=simulator.mock_transport()) as http:
        registry = ProviderRegistry(vault, ProviderDeps(http, clock, "http://127.0.0.1:8080"), provider_factories())
        worker = JobWorker(database, clock, {START: PaymentStarter(database, registry, clock)})
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0  # a refused start is not tried again
        async with database.uow() as uow:
            assert (await uow.session.get(Payment, payment_id)).status == "failed"  # type: ignore[union-attr]

    async with database.uow() as uow:
        rows = list(await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        to_merchant = [row for row in rows if row.chat_id == shop.admin_id]
        to_customer = [row for row in rows if row.chat_id == 5001]
        assert len(to_merchant) == 1 and "refused a request for order K7Q2XA" in to_merchant[0].payload["text"]
        assert "invalid_key" in to_merchant[0].payload["text"]
        assert UNKNOWN_KEY not in to_merchant[0].payload["text"]
        assert len(to_customer) == 1 and "did not go through" in to_customer[0].payload["text"]
    await simulator.close()
