"""A "paid" that does not say how much: held for review, unless the event vouches that its amount is the attempt's own
(M-Pesa's STK Query answer about one push, whose amount was fixed when the push was requested)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Order, OutboxMessage, Payment
from core.vault import Vault
from payments.base import Outcome, ProviderEvent
from payments.service import EventResult, apply_event
from payments.states import OrderStatus, PaymentStatus
from sandbox.mpesa.models import SimOutcome
from sandbox.mpesa.simulator import DarajaSimulator
from tests.integration.test_paystack_checkout import CHAT
from tests.integration.test_tenant_scoped_keys import open_attempt
from tests.support.seed import seed_shop
from tests.unit.test_mpesa_provider import KEY, PHONE, SECRET, make, request


@pytest.fixture
def sim(clock: FakeClock) -> DarajaSimulator:
    simulator = DarajaSimulator(clock=clock, seed=1)
    simulator.add_app(KEY, SECRET)
    simulator.set_outcome(PHONE, SimOutcome(0, send_callback=False))  # paid, and the callback is lost
    return simulator


async def state(database: Database, payment_id: int) -> tuple[str, int | None, str | None, str]:
    async with database.uow() as uow:
        payment = await uow.session.get(Payment, payment_id)
        assert payment is not None
        order = await uow.session.get(Order, payment.order_id)
        assert order is not None
        return payment.status, payment.paid_minor, payment.reason, order.status


async def texts(database: Database, chat: int) -> list[str]:
    async with database.uow() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
        )
        return [str(row.payload["text"]) for row in rows]


async def test_a_paid_event_without_an_amount_goes_to_review(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    payment = await open_attempt(database, clock, shop, CHAT, "mpesa", PaymentStatus.PENDING, provider_ref="ws_CO_1")
    silent = ProviderEvent(
        provider="mpesa",
        event_key=f"receipt:{shop.tenant_id}:TAF1RKQ3XY",
        payment_reference=payment.reference,
        outcome=Outcome.PAID,
        provider_txn_id="TAF1RKQ3XY",
        provider_ref="ws_CO_1",
    )
    async with database.uow() as uow:
        applied = await apply_event(uow.session, shop.tenant_id, silent, clock)
        await uow.commit()

    assert applied.result is EventResult.NEEDS_REVIEW
    assert await state(database, payment.id) == (
        PaymentStatus.NEEDS_REVIEW,
        None,
        "the provider reported the payment without its amount; check that KES 420 arrived",
        OrderStatus.NEEDS_REVIEW,
    )
    order_code = f"K{shop.tenant_id:05d}"
    assert [t for t in await texts(database, CHAT) if "Payment received" in t] == []
    assert await texts(database, CHAT) == [
        f"We received a payment for order {order_code}, but it needs a check by the shop. You will hear from us soon."
    ]
    (alert,) = await texts(database, shop.admin_id)
    assert "without its amount" in alert


async def test_the_stk_query_answer_pays_the_amount_the_push_asked_for(
    database: Database, vault: Vault, clock: FakeClock, sim: DarajaSimulator
) -> None:
    shop = await seed_shop(database, vault, clock)
    provider = make(sim, clock, tenant_id=shop.tenant_id)
    started = await provider.start(request(amount=42000))
    assert started.provider_ref is not None
    checkout = started.provider_ref
    payment = await open_attempt(database, clock, shop, CHAT, "mpesa", PaymentStatus.PENDING, provider_ref=checkout)

    answer = await provider.query(payment.reference, checkout)

    assert answer is not None
    assert (answer.outcome, answer.amount, answer.amount_is_attempts) == (Outcome.PAID, None, True)
    async with database.uow() as uow:
        applied = await apply_event(uow.session, shop.tenant_id, answer, clock)
        await uow.commit()
    assert applied.result is EventResult.APPLIED
    assert await state(database, payment.id) == (PaymentStatus.PAID, 42000, None, OrderStatus.PAID)
    (receipt,) = [t for t in await texts(database, CHAT) if "Payment received" in t]
    assert "Amount: KES 420" in receipt
