"""Refunds the merchant sends by hand (M-Pesa and manual payments): the customer is told the truth at each step, the
merchant has a task until they press Done, and Done (admins only) happens once, however often it is pressed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from admin import gate
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import AuditEntry, Order, Payment, Tenant, TenantAdmin
from core.money import Money
from core.vault import Vault
from flows import router
from flows.context import Reply
from flows.inbound import Actor, Inbound
from payments.base import Outcome, ProviderEvent
from payments.service import apply_event
from payments.states import PaymentStatus
from tests.integration.test_paystack_checkout import Rig, paystack_rig
from tests.integration.test_refunds import ADMIN, command, refunds_of, said
from tests.support.seed import seed_shop

OTHER_ADMIN = 9002
STRANGER = 7777
PROMISED = "The shop will send you KES 20.50 back for order {code}. You will be told here once they have sent it."
SENT = "The shop has sent you KES 20.50 back for order {code}."


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with paystack_rig(database, vault, clock, tmp_path) as running:
        async with database.uow() as uow:
            uow.session.add(
                TenantAdmin(tenant_id=running.shop.tenant_id, tg_user_id=OTHER_ADMIN, created_at=clock.now())
            )
            await uow.commit()
        yield running


async def paid_by(rig: Rig, provider: str) -> tuple[Payment, Order]:
    """An order of KES 420 paid by ``provider`` (M-Pesa or manual)."""
    payment_id = await rig.open(42000)
    async with rig.database.uow() as uow:
        payment = await uow.session.get(Payment, payment_id)
        assert payment is not None
        payment.provider = provider
        paid = ProviderEvent(
            provider, f"paid:{payment.reference}", payment.reference, Outcome.PAID, Money(42000, "KES")
        )
        assert (await apply_event(uow.session, rig.shop.tenant_id, paid, rig.clock)).moved
        await uow.commit()
    payment = await rig.payment(payment_id)
    return payment, await rig.order(payment)


async def through_gate(rig: Rig, actor: int, inbound: Inbound) -> Reply:
    """An input as the bot routes it: the gate decides who reaches the merchant's side."""
    async with rig.database.uow() as uow:
        tenant = await uow.session.get(Tenant, rig.shop.tenant_id)
        assert tenant is not None
        ctx = await router.open_context(uow.session, tenant, Actor(actor, actor, "someone"), rig.clock)
        reply, _ = await gate.route(ctx, inbound)
        await uow.commit()
    return reply


def done_data(reply: Reply) -> str:
    (message,) = reply.messages
    ((button,),) = message.buttons
    assert button.data is not None
    return button.data


@pytest.mark.parametrize("provider", ["mpesa", "manual"])
async def test_a_refund_sent_by_hand_is_a_task_until_done_and_the_customer_hears_the_truth(
    rig: Rig, provider: str
) -> None:
    payment, order = await paid_by(rig, provider)
    code = order.code

    reply = await command(rig, f"{code} 20.50")
    shown = "M-Pesa" if provider == "mpesa" else "manual payment"
    assert said(reply) == (
        f"↩️ Refund recorded for order {code} (paid by {shown}). dukabot cannot send this money back for you: "
        f"send KES 20.50 to Wanjiru Kamau, 0712 345 678 for order {code}, then press Done.\n"
        "The customer has been told that you will send it, and will be told it was sent when you press Done."
    )
    (refund,) = await refunds_of(rig, payment)
    assert (refund.status, refund.provider, refund.amount_minor, refund.requested_by) == (
        "awaiting_merchant",
        provider,
        2050,
        ADMIN,
    )
    assert done_data(reply) == f"rfd.1:{refund.id}"
    # Nothing was sent yet: the payment is untouched and the customer reads only that the shop will send it.
    untouched = await rig.payment(payment.id)
    assert (untouched.status, untouched.refunded_minor) == (PaymentStatus.PAID, 0)
    refund_texts = [t for t in await rig.texts() if "back for order" in t]
    assert refund_texts == [PROMISED.format(code=code)]
    # The promise counts: the rest of the payment is all that can still be refunded.
    assert "You can refund at most KES 399.50" in said(await command(rig, f"{code} 420"))

    # The task waits in the merchant's menu until done.
    menu = await through_gate(rig, ADMIN, Inbound.cmd("admin"))
    labels = [button.text for row in menu.messages[0].buttons for button in row]
    assert "↩️ Refunds to send (1)" in labels
    listed = await through_gate(rig, ADMIN, Inbound.pressed("am.1:6"))
    assert said(listed) == (
        "↩️ Refunds to send (1). Send each, then press its Done:\n"
        f"• send KES 20.50 to Wanjiru Kamau, 0712 345 678 for order {code}, then press Done"
    )
    assert done_data(listed) == f"rfd.1:{refund.id}"

    # Someone who is not an admin cannot press Done.
    refused = await through_gate(rig, STRANGER, Inbound.pressed(f"rfd.1:{refund.id}"))
    assert refused.refused and said(refused) == "This command is for the shop's admins."
    assert (await refunds_of(rig, payment))[0].status == "awaiting_merchant"

    done = await through_gate(rig, ADMIN, Inbound.pressed(f"rfd.1:{refund.id}"))
    assert (
        said(done)
        == f"✅ Order {code}: KES 20.50 sent back to Wanjiru Kamau, 0712 345 678. The customer has been told."
    )
    (refund,) = await refunds_of(rig, payment)
    assert (refund.status, refund.done_by) == ("sent_by_merchant", ADMIN)
    moved = await rig.payment(payment.id)
    assert (moved.status, moved.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 2050)
    assert [t for t in await rig.texts() if "back for order" in t] == [
        PROMISED.format(code=code),
        SENT.format(code=code),
    ]

    # A double tap, then the other admin: one message, one refund, both told it was done already.
    for admin in (ADMIN, OTHER_ADMIN):
        again = await through_gate(rig, admin, Inbound.pressed(f"rfd.1:{refund.id}"))
        assert (
            said(again) == f"Order {code}: the refund of KES 20.50 was already marked sent. The customer was told once."
        )
    assert [t for t in await rig.texts() if "back for order" in t] == [
        PROMISED.format(code=code),
        SENT.format(code=code),
    ]
    assert (await rig.payment(payment.id)).refunded_minor == 2050
    assert "No refunds to send" in said(await through_gate(rig, ADMIN, Inbound.pressed("am.1:6")))

    async with rig.database.uow() as uow:
        audit = list(
            await uow.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.in_(["refund", "refund.sent", "refused"]))
                .order_by(AuditEntry.id)
            )
        )
    assert [(a.action, a.allowed, a.actor_tg_id) for a in audit] == [
        ("refund", True, ADMIN),
        ("refund", False, ADMIN),  # the KES 420 that no longer fitted
        ("refused", False, STRANGER),
        ("refund.sent", True, ADMIN),
    ]
    assert audit[-1].details == {"refund": refund.id, "amount_minor": 2050, "applied": True}


async def test_another_shops_admin_cannot_mark_a_task_done(rig: Rig, database: Database, vault: Vault) -> None:
    payment, order = await paid_by(rig, "mpesa")
    reply = await command(rig, order.code)
    (refund,) = await refunds_of(rig, payment)
    assert done_data(reply) == f"rfd.1:{refund.id}"

    other = await seed_shop(
        database, vault, rig.clock, slug="fundi", bot_token="222222:AAE-other-shop-token-0000000000"
    )
    async with rig.database.uow() as uow:
        tenant = await uow.session.get(Tenant, other.tenant_id)
        assert tenant is not None
        ctx = await router.open_context(uow.session, tenant, Actor(other.admin_id, other.admin_id, "fundi"), rig.clock)
        stale, _ = await gate.route(ctx, Inbound.pressed(f"rfd.1:{refund.id}"))
        await uow.commit()
    assert stale.refused and stale.notice == "That button is no longer valid."
    assert (await refunds_of(rig, payment))[0].status == "awaiting_merchant"
    assert (await rig.payment(payment.id)).refunded_minor == 0


@pytest.mark.postgres
async def test_two_admins_pressing_done_at_once_send_one_message(rig: Rig, database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("a race between connections: PostgreSQL only (SQLite lets one writer in at a time)")
    payment, order = await paid_by(rig, "mpesa")
    await command(rig, f"{order.code} 20.50")
    (refund,) = await refunds_of(rig, payment)
    both_in = asyncio.Barrier(2)

    async def press(admin: int) -> str:
        async with rig.database.uow() as uow:
            tenant = await uow.session.get(Tenant, rig.shop.tenant_id)
            assert tenant is not None
            ctx = await router.open_context(uow.session, tenant, Actor(admin, admin, "admin"), rig.clock)
            await both_in.wait()  # both transactions open, on their own connections, before either presses
            reply, _ = await gate.route(ctx, Inbound.pressed(f"rfd.1:{refund.id}"))
            await uow.commit()
        return said(reply)

    answers = await asyncio.gather(press(ADMIN), press(OTHER_ADMIN))
    assert sorted(answers) == sorted(
        [
            f"✅ Order {order.code}: KES 20.50 sent back to Wanjiru Kamau, 0712 345 678. The customer has been told.",
            f"Order {order.code}: the refund of KES 20.50 was already marked sent. The customer was told once.",
        ]
    )
    assert [t for t in await rig.texts() if "back for order" in t] == [
        PROMISED.format(code=order.code),
        SENT.format(code=order.code),
    ]
    assert (await rig.payment(payment.id)).refunded_minor == 2050
    async with rig.database.uow() as uow:
        sent = list(await uow.session.scalars(select(AuditEntry.allowed).where(AuditEntry.action == "refund.sent")))
    assert sent == [True]
    assert (await refunds_of(rig, payment))[0].status == "sent_by_merchant"
