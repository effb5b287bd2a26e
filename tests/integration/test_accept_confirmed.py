"""Money the provider says never came is never "accepted as received". A correctly signed Paystack ``charge.success``
that Verify contradicts is held for review; accepting it asks Verify again, at that moment, and only Paystack's own
"success" for the amount held lets it through. The Paystack simulator runs as a real server; the app is real."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from admin import gate
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import AuditEntry, Payment, Tenant
from core.vault import Vault
from flows import router
from flows.context import Reply
from flows.inbound import Actor, Inbound
from payments.paystack.signature import sign
from payments.states import PaymentStatus
from tests.integration.test_paystack_checkout import DOCUMENTED_CHARGE_SUCCESS, KEY, Rig, paystack_rig

REFUSED = (
    "❌ Not accepted: Paystack does not confirm the money for order {code}. Asked just now, Paystack's Verify says "
    '{said}; accepting needs its "success" for {held}. Nothing was changed: the payment stays held for your review. '
    "If the customer says they paid, look the payment up on Paystack's dashboard and try again once it shows as "
    "successful."
)


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with paystack_rig(database, vault, clock, tmp_path) as running:
        yield running


async def as_admin(rig: Rig, inbound: Inbound) -> Reply:
    """The merchant's input as the running bot routes it (the gate, with the app's provider registry)."""
    async with rig.database.uow() as uow:
        tenant = await uow.session.get(Tenant, rig.shop.tenant_id)
        assert tenant is not None
        admin = rig.shop.admin_id
        ctx = await router.open_context(uow.session, tenant, Actor(admin, admin, "Mama"), rig.clock)
        reply, _ = await gate.route(ctx, inbound, registry=rig.runtime.registry)
        await uow.commit()
    return reply


def said(reply: Reply) -> str:
    return "\n".join(message.text for message in reply.messages)


async def forged_success(rig: Rig, payment: Payment) -> None:
    """A ``charge.success`` for the payment, correctly signed with the shop's key, for money Paystack never took."""
    body = json.loads(DOCUMENTED_CHARGE_SUCCESS)
    body["data"].update(reference=payment.reference, amount=payment.amount_minor, currency="KES", id=990001)
    raw = json.dumps(body).encode()
    assert (await rig.post(raw, sign(raw, KEY)))[0] == 200


async def accepted_audit(rig: Rig) -> list[tuple[str, bool, str | None]]:
    async with rig.database.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("payment.accept%")).order_by(AuditEntry.id)
        )
        return [(row.action, row.allowed, row.details.get("why")) for row in rows]


async def test_money_verify_says_never_came_is_not_accepted_until_paystack_confirms_it(rig: Rig) -> None:
    payment = await rig.start(42000)
    await rig.pay(payment, "abandoned")  # the customer left the checkout: Paystack took nothing, sends no webhook
    await forged_success(rig, payment)
    held = await rig.payment(payment.id)
    order = await rig.order(held)
    assert (held.status, order.status) == (PaymentStatus.NEEDS_REVIEW, "needs_review")
    # The merchant reads what Verify said when the webhook came.
    (alert,) = [t for t in await rig.texts(rig.shop.admin_id) if order.code in t]
    assert "Verify says the payment is abandoned" in alert

    receipts_before = await rig.texts()
    refused = REFUSED.format(code=order.code, said='"abandoned" (KES 420)', held="KES 420")
    for inbound in (Inbound.pressed(f"acc.1:{payment.id}"), Inbound.cmd("accept", order.code)):
        reply = await as_admin(rig, inbound)
        assert reply.refused and said(reply) == refused
    unchanged = await rig.payment(payment.id)
    assert (unchanged.status, (await rig.order(unchanged)).status) == (PaymentStatus.NEEDS_REVIEW, "needs_review")
    assert await rig.texts() == receipts_before  # no receipt, nothing to the customer
    assert await accepted_audit(rig) == [("payment.accept", False, "verify_disagrees")] * 2

    # Once Paystack itself says the money came, the merchant can accept it.
    rig.sim.transaction(payment.reference).status = "success"
    reply = await as_admin(rig, Inbound.pressed(f"acc.1:{payment.id}"))
    assert not reply.refused and reply.messages == []  # the toast, and the alert edited into the acceptance
    assert reply.notice == (
        f"✅ Order {order.code} is paid: KES 420 accepted as received. The customer has been sent a receipt."
    )
    paid = await rig.payment(payment.id)
    assert (paid.status, (await rig.order(paid)).status) == (PaymentStatus.PAID, "paid")


async def test_verify_must_say_success_for_the_amount_held(rig: Rig) -> None:
    payment = await rig.start(42000)
    rig.sim.transaction(payment.reference).amount = 30000  # Paystack collected less than the order: held
    await rig.pay(payment)
    order = await rig.order(await rig.payment(payment.id))
    assert (await rig.payment(payment.id)).status == PaymentStatus.NEEDS_REVIEW

    rig.sim.transaction(payment.reference).amount = 20000  # Verify now tells of another amount than the one held
    reply = await as_admin(rig, Inbound.cmd("accept", order.code))
    assert said(reply) == REFUSED.format(code=order.code, said='"success" (KES 200)', held="KES 300")
    assert (await rig.payment(payment.id)).status == PaymentStatus.NEEDS_REVIEW

    rig.sim.transaction(payment.reference).amount = 30000
    reply = await as_admin(rig, Inbound.cmd("accept", order.code))
    assert said(reply) == (
        f"✅ Order {order.code} is paid: KES 300 accepted as received. The customer has been sent a receipt."
    )
    assert (await rig.payment(payment.id)).paid_minor == 30000


async def test_without_an_answer_from_verify_nothing_is_accepted(rig: Rig) -> None:
    payment = await rig.start(42000)
    await rig.pay(payment, "abandoned")
    await forged_success(rig, payment)
    order = await rig.order(await rig.payment(payment.id))

    rig.sim.fail_next(503, count=10, path_prefix="/transaction/verify")
    reply = await as_admin(rig, Inbound.cmd("accept", order.code))
    assert reply.refused and said(reply) == (
        f"⏳ Not accepted yet: dukabot could not ask Paystack to confirm the money for order {order.code} just now. "
        "Nothing was changed; try again in a minute."
    )
    assert (await rig.payment(payment.id)).status == PaymentStatus.NEEDS_REVIEW
    assert await accepted_audit(rig) == [("payment.accept", False, "verify_unavailable")]
