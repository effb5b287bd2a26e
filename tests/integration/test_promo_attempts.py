"""Every new payment attempt, whatever opens it (the menu, a provider's own retry button, a Paybill payment), takes
back the promo use an ended attempt gave back, or the order loses its discount before anything is charged."""

from __future__ import annotations

from sqlalchemy import select, update

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Order, PromoCode
from core.vault import Vault
from flows import checkout
from flows.inbound import Actor
from payments.attempts import open_payment
from payments.base import Outcome, ProviderEvent
from payments.service import apply_event
from payments.states import PaymentStatus
from tests.support.promos import at_summary, shop_with_code

WANJIRU = Actor(5001, 5001, "Wanjiru")


async def uses(database: Database) -> int:
    async with database.uow() as uow:
        return int(await uow.session.scalar(select(PromoCode.uses)) or 0)


async def test_an_attempt_retakes_the_use_or_charges_the_order_without_the_discount(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shop_with_code(database, vault, clock, "ONE", value=5000, max_uses=1, uses=0)
    async with database.uow() as uow:
        _, placed = await checkout.confirm(await at_summary(uow.session, shop, WANJIRU, clock, "ONE"))
        assert placed is not None
        order_id = placed.id
        await uow.commit()
    assert await uses(database) == 1

    async def attempt_then_expire(key: str) -> int:
        async with database.uow() as uow:
            order = await uow.session.get(Order, order_id)
            assert order is not None
            payment = await open_payment(uow.session, order, "manual", PaymentStatus.AWAITING_PROOF, clock.now())
            assert payment is not None
            amount = payment.amount_minor
            event = ProviderEvent("manual", key, payment.reference, Outcome.EXPIRED)
            await apply_event(uow.session, shop.tenant_id, event, clock)
            await uow.commit()
        return amount

    assert await attempt_then_expire("e1") == 37_000
    assert await uses(database) == 0  # given back
    assert await attempt_then_expire("e2") == 37_000  # taken again by the new attempt, given back when it expired
    assert await uses(database) == 0

    async with database.uow() as uow:  # someone else took the last use meanwhile
        await uow.session.execute(update(PromoCode).values(uses=1))
        await uow.commit()
    assert await attempt_then_expire("e3") == 42_000
    async with database.uow() as uow:
        order = await uow.session.get(Order, order_id)
        assert order is not None
        assert (order.total_minor, order.discount_minor, order.promo_code) == (42_000, 0, None)
    assert await uses(database) == 1
