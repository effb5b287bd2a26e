"""``/refund ID [AMOUNT]``: Paystack refunds through the API and its webhooks (the simulator as a real server, the app's
real webhook route), and every refusal. Refunds the merchant sends by hand (M-Pesa, manual): ``test_refund_tasks``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import AuditEntry, Order, Payment, Refund
from core.vault import Vault
from flows.context import Reply
from payments.states import PaymentStatus
from tests.integration.test_paystack_checkout import KEY, Rig, paystack_rig
from tests.support.refunds import refund_confirmed
from tests.support.seed import seed_shop

ADMIN = 9001


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with paystack_rig(database, vault, clock, tmp_path) as running:
        yield running


async def command(rig: Rig, args: str, *, tenant_id: int | None = None, admin: int = ADMIN) -> Reply:
    """The merchant types ``/refund args`` and presses its Confirm (the bot layer has checked that they are an
    admin): the reply to the Confirm, or the refusal of the command."""
    return await refund_confirmed(rig.database, rig.clock, tenant_id or rig.shop.tenant_id, admin, args)


def said(reply: Reply) -> str:
    return "\n".join(message.text for message in reply.messages)


async def paid_online(rig: Rig, minor: int = 42000) -> tuple[Payment, Order]:
    payment = await rig.start(minor)
    await rig.pay(payment)
    paid = await rig.payment(payment.id)
    assert paid.status == PaymentStatus.PAID
    return paid, await rig.order(paid)


async def refunds_of(rig: Rig, payment: Payment) -> list[Refund]:
    async with rig.database.uow() as uow:
        return list(
            await uow.session.scalars(select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id))
        )


async def settle_refunds(rig: Rig) -> None:
    """The reconciler's pass sends requested refunds; the simulator processes them and its webhooks arrive."""
    await rig.runtime.reconciler.run_once()
    await rig.sim.drain()


async def test_a_partial_then_a_full_paystack_refund(rig: Rig) -> None:
    payment, order = await paid_online(rig)

    reply = await command(rig, f"{order.code.lower()} 100")
    assert f"Refund of KES 100 for order {order.code} sent to Paystack" in said(reply) and not reply.refused
    (requested,) = await refunds_of(rig, payment)
    assert (requested.status, requested.amount_minor, requested.requested_by) == ("requested", 10000, ADMIN)
    assert rig.sim.refunds == {}  # nothing was sent from inside the chat's transaction

    await settle_refunds(rig)
    (refund,) = await refunds_of(rig, payment)
    sim_refund = rig.sim.refunds[int(refund.provider_refund_id or 0)]
    assert (sim_refund.amount, sim_refund.status) == (10000, "processed")
    assert refund.status == "processed"
    partial = await rig.payment(payment.id)
    assert partial.status == PaymentStatus.PARTIALLY_REFUNDED and partial.refunded_minor == 10000
    assert (await rig.order(partial)).status == "paid"
    assert [t for t in await rig.texts() if "refund" in t.lower()] == [
        f"A refund of KES 100 for order {order.code} is on its way back to you."
    ]
    assert any("Paystack processed the refund of KES 100" in t for t in await rig.texts(ADMIN))
    events = {d.event for d in rig.sim.deliveries if d.status == 200}
    assert {"refund.pending", "refund.processed"} <= events

    # The rest, by leaving out the amount.
    reply = await command(rig, order.code)
    assert "Refund of KES 320" in said(reply)
    await settle_refunds(rig)
    full = await rig.payment(payment.id)
    assert full.status == PaymentStatus.REFUNDED and full.refunded_minor == 42000
    assert (await rig.order(full)).status == "refunded"
    assert len([t for t in await rig.texts() if "on its way back" in t]) == 2

    # Nothing is left; redelivered refund webhooks change nothing.
    assert "nothing left to refund" in said(await command(rig, order.code))
    before = (await rig.texts(), [r.status for r in await refunds_of(rig, payment)])
    for event in [e for e in rig.sim.events if e.event.startswith("refund.")]:
        rig.sim.webhooks.resend(event.id, copies=2)
    await rig.sim.drain()
    assert (await rig.texts(), [r.status for r in await refunds_of(rig, payment)]) == before
    assert (await rig.payment(payment.id)).refunded_minor == 42000

    async with rig.database.uow() as uow:
        audit = list(await uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "refund")))
    assert [a.allowed for a in audit] == [True, True, False]


async def test_a_refund_waits_for_paystack_and_a_failed_one_is_told_to_the_merchant(rig: Rig) -> None:
    rig.sim.refund_outcome = None  # refunds stay pending until settled
    payment, order = await paid_online(rig)
    await command(rig, f"{order.code} 420")
    await settle_refunds(rig)
    (refund,) = await refunds_of(rig, payment)
    assert refund.status == "pending"
    # Money on its way back cannot be asked for twice.
    assert "nothing left to refund" in said(await command(rig, f"{order.code} 1"))

    await rig.sim.settle_refund(int(refund.provider_refund_id or 0), "failed")
    await rig.sim.drain()
    (refund,) = await refunds_of(rig, payment)
    assert refund.status == "failed"
    assert (await rig.payment(payment.id)).status == PaymentStatus.PAID
    assert any(f"refund of KES 420 for order {order.code} failed" in t for t in await rig.texts(ADMIN))
    assert not [t for t in await rig.texts() if "on its way back" in t]
    # Once failed, the money can be asked back again.
    assert "sent to Paystack" in said(await command(rig, f"{order.code} 420"))


async def test_a_refund_made_on_paystacks_dashboard_moves_the_payment_too(rig: Rig) -> None:
    payment, order = await paid_online(rig)
    async with httpx.AsyncClient(base_url=rig.sim_url) as http:
        answer = await http.post(
            "/refund",
            json={"transaction": payment.reference, "amount": 5000},
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert answer.status_code == 200
    await rig.sim.drain()
    (refund,) = await refunds_of(rig, payment)
    assert (refund.status, refund.amount_minor, refund.requested_by) == ("processed", 5000, None)
    assert (await rig.payment(payment.id)).refunded_minor == 5000
    assert f"A refund of KES 50 for order {order.code} is on its way back to you." in await rig.texts()


async def test_refusals_say_why_and_change_nothing(rig: Rig, database: Database, vault: Vault) -> None:
    payment, order = await paid_online(rig)
    unpaid = await rig.payment(await rig.open(42000))
    unpaid_order = await rig.order(unpaid)
    other = await seed_shop(
        database, vault, rig.clock, slug="fundi", bot_token="222222:AAE-other-shop-token-0000000000"
    )

    cases = {
        "": "Usage: /refund CODE [AMOUNT]",
        f"{order.code} 1 2": "Usage: /refund CODE [AMOUNT]",
        "NOPE12": "There is no order NOPE12 in this shop.",
        f"{unpaid_order.code}": f"Order {unpaid_order.code} is not paid",
        f"{order.code} 0": "A refund must be more than zero.",
        f"{order.code} -5": "A refund must be more than zero.",
        f"{order.code} abc": '"abc" is not an amount in KES',
        f"{order.code} 1.234": 'KES takes at most 2 decimals, so "1.234" cannot be refunded',
        f"{order.code} 420.01": "You can refund at most KES 420",
    }
    for args, words in cases.items():
        reply = await command(rig, args)
        assert words in said(reply) and reply.refused, (args, said(reply))
    # Another shop's admin cannot reach this shop's orders.
    reply = await command(rig, order.code, tenant_id=other.tenant_id, admin=other.admin_id)
    assert f"There is no order {order.code}" in said(reply)

    assert await refunds_of(rig, payment) == [] and await refunds_of(rig, unpaid) == []
    assert (await rig.payment(payment.id)).status == PaymentStatus.PAID
    async with rig.database.uow() as uow:
        audit = list(await uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "refund")))
    assert len(audit) == len(cases) + 1 and not any(a.allowed for a in audit)
