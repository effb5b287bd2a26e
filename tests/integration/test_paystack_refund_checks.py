"""Paystack refunds whose webhooks never come: the reconciler fetches them (GET /refund/{id}) on a backing-off
schedule, through the same path as the webhooks, so a poll and a webhook of the same step change it once and send one
message, in either order. The Paystack simulator runs as a real server and the app's real webhook route receives its
webhooks, unless the test holds them back (``refund_webhooks=False``) to deliver them later or never. The clock is a
FakeClock moved by the test; the reconciler's passes are run by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import FakeClock, utc
from core.db.engine import Database
from core.db.tables import Order, Payment, PaymentEvent, Refund
from core.vault import Vault
from payments.paystack.provider import REFUND_HORIZON
from payments.states import PaymentStatus
from tests.integration.test_paystack_checkout import Rig, paystack_rig
from tests.integration.test_refunds import ADMIN, command, paid_online, refunds_of

ON_ITS_WAY = "is on its way back to you"


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with paystack_rig(database, vault, clock, tmp_path) as running:
        running.sim.refund_webhooks = False  # every refund webhook is lost, until a test delivers it
        yield running


async def refund_sent(rig: Rig, args: str = "") -> tuple[Payment, Order, Refund]:
    """A paid order, the merchant's ``/refund CODE args``, and the reconciler's pass that sends it to Paystack."""
    payment, order = await paid_online(rig)
    await command(rig, f"{order.code} {args}".strip())
    await rig.runtime.reconciler.run_once()
    await rig.sim.drain()  # the simulator's own refund steps (its webhooks are held back)
    (refund,) = await refunds_of(rig, payment)
    assert refund.status == "pending" and refund.provider_refund_id is not None
    return payment, order, refund


async def refund(rig: Rig, refund_id: int) -> Refund:
    async with rig.database.uow() as uow:
        row = await uow.session.get(Refund, refund_id)
    assert row is not None
    return row


def move_to(clock: FakeClock, moment: datetime) -> None:
    clock.advance(seconds=(utc(moment) - clock.now()).total_seconds())


async def deliver_held_refund_webhooks(rig: Rig) -> None:
    """What a lost webhook does when it turns up after all (a Paystack retry, a fixed endpoint)."""
    held = [event for event in rig.sim.events if event.event.startswith("refund.")]
    assert held
    for event in held:
        rig.sim.webhooks.resend(event.id)
    await rig.sim.drain()
    late = [d for d in rig.sim.deliveries if d.event.startswith("refund.")]
    assert len(late) == len(held) and all(d.status == 200 for d in late)


async def refunded_events(rig: Rig, payment: Payment) -> list[str]:
    async with rig.database.uow() as uow:
        rows = await uow.session.scalars(
            select(PaymentEvent.event_key).where(
                PaymentEvent.payment_id == payment.id, PaymentEvent.outcome == "refunded"
            )
        )
        return list(rows)


async def told(rig: Rig, words: str, chat: int | None = None) -> int:
    texts = await rig.texts(chat) if chat is not None else await rig.texts()
    return sum(words in text for text in texts)


@pytest.mark.parametrize("webhook_ids", [True, False], ids=["webhooks-with-id", "webhooks-as-documented"])
async def test_a_refund_whose_webhooks_are_lost_is_finished_by_the_poll(rig: Rig, webhook_ids: bool) -> None:
    rig.sim.refund_webhook_ids = webhook_ids
    payment, order, sent = await refund_sent(rig, "100")
    assert rig.sim.refunds[int(sent.provider_refund_id or 0)].status == "processed"  # Paystack knows; we do not

    await rig.runtime.reconciler.run_once()  # not due yet: the first look is a couple of minutes after sending
    assert (await refund(rig, sent.id)).status == "pending"

    move_to(rig.clock, sent.next_check_at or rig.clock.now())
    await rig.runtime.reconciler.run_once()
    done = await refund(rig, sent.id)
    assert (done.status, done.checks, done.next_check_at) == ("processed", 1, None)
    moved = await rig.payment(payment.id)
    assert (moved.status, moved.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 10000)
    assert await rig.texts() == [t for t in await rig.texts() if ON_ITS_WAY not in t] + [
        f"A refund of KES 100 for order {order.code} {ON_ITS_WAY}."
    ]
    assert await told(rig, "Paystack processed the refund of KES 100", ADMIN) == 1

    # The lost webhooks turn up after all (pending, then processed), and a day of passes goes by: nothing changes.
    before = (await rig.texts(), await rig.texts(ADMIN))
    await deliver_held_refund_webhooks(rig)
    rig.clock.advance(days=1)
    await rig.runtime.reconciler.run_once()
    assert (await rig.texts(), await rig.texts(ADMIN)) == before
    assert (await rig.payment(payment.id)).refunded_minor == 10000
    # No second refund made of a late webhook.
    assert [(r.id, r.status) for r in await refunds_of(rig, payment)] == [(sent.id, "processed")]
    assert await refunded_events(rig, payment) == [f"refund:{sent.id}"]


@pytest.mark.parametrize("webhook_ids", [True, False], ids=["webhooks-with-id", "webhooks-as-documented"])
async def test_a_webhook_that_lands_while_the_poll_is_out_changes_the_refund_once(rig: Rig, webhook_ids: bool) -> None:
    rig.sim.refund_webhook_ids = webhook_ids
    rig.sim.refund_outcome = None  # the refund waits for settle_refund
    payment, order, sent = await refund_sent(rig)
    await rig.sim.settle_refund(int(sent.provider_refund_id or 0), "processed")

    # The reconciler has Paystack's answer in hand when the webhook arrives and is applied; then it records its own.
    move_to(rig.clock, sent.next_check_at or rig.clock.now())
    look = await rig.runtime.reconciler.refund_checks.look(sent.id)
    assert look is not None and look.answer is not None and look.answer.status == "processed"
    await deliver_held_refund_webhooks(rig)
    assert (await refund(rig, sent.id)).status == "processed"
    await rig.runtime.reconciler.refund_checks.record(look)

    moved = await rig.payment(payment.id)
    assert (moved.status, moved.refunded_minor) == (PaymentStatus.REFUNDED, 42000)
    assert (await rig.order(moved)).status == "refunded"
    assert await told(rig, f"A refund of KES 420 for order {order.code} {ON_ITS_WAY}") == 1
    assert await told(rig, "Paystack processed the refund", ADMIN) == 1
    assert await refunded_events(rig, payment) == [f"refund:{sent.id}"]
    assert (await refund(rig, sent.id)).next_check_at is None  # settled: not asked about again


async def test_a_failed_refund_alerts_the_merchant_and_refunds_nothing(rig: Rig) -> None:
    rig.sim.refund_outcome = "failed"
    payment, order, sent = await refund_sent(rig, "150")

    move_to(rig.clock, sent.next_check_at or rig.clock.now())
    await rig.runtime.reconciler.run_once()
    assert (await refund(rig, sent.id)).status == "failed"
    still = await rig.payment(payment.id)
    assert (still.status, still.refunded_minor) == (PaymentStatus.PAID, 0)
    assert (await rig.order(still)).status == "paid"
    assert await told(rig, "refund") == 0  # the customer hears nothing of a refund that did not happen
    failed = f"The refund of KES 150 for order {order.code} failed"
    assert await told(rig, failed, ADMIN) == 1
    assert await refunded_events(rig, payment) == []

    await deliver_held_refund_webhooks(rig)  # refund.pending and refund.failed, late
    rig.clock.advance(days=1)
    await rig.runtime.reconciler.run_once()
    assert await told(rig, failed, ADMIN) == 1
    assert (await rig.payment(payment.id)).refunded_minor == 0
    # Failed money can be asked back again.
    assert "sent to Paystack" in "\n".join(m.text for m in (await command(rig, f"{order.code} 150")).messages)


async def test_a_refund_still_pending_at_the_horizon_alerts_the_merchant_once(rig: Rig) -> None:
    rig.sim.refund_outcome = None  # Paystack never finishes it
    payment, order, sent = await refund_sent(rig)
    rig.sim.fail_next(500, path_prefix="/refund/")  # one look goes unanswered: it is asked again later

    looks: list[datetime] = []
    row = sent
    while row.next_check_at is not None:
        assert len(looks) < 100, "the schedule never ends"
        move_to(rig.clock, row.next_check_at)
        looks.append(rig.clock.now())
        await rig.runtime.reconciler.run_once()
        row = await refund(rig, sent.id)

    gaps = [later - earlier for earlier, later in pairwise(looks)]
    minutes = [int(gap.total_seconds() // 60) for gap in gaps[:6]]
    assert minutes == [10, 30, 60, 120, 240, 360]  # backing off from minutes to hours...
    assert max(gaps) == timedelta(hours=6)  # ...and no further
    assert looks[-1] == utc(sent.created_at) + REFUND_HORIZON  # the last look is at the horizon
    assert (row.status, row.checks) == ("pending", len(looks))
    unresolved = f"The refund of KES 420 for order {order.code} is still not finished after 10 days"
    assert await told(rig, unresolved, ADMIN) == 1
    assert (await rig.payment(payment.id)).status == PaymentStatus.PAID

    # Past the horizon nothing is asked and nothing more is said.
    rig.clock.advance(days=30)
    assert await rig.runtime.reconciler.run_once() == 0
    assert (await refund(rig, sent.id)).checks == len(looks)
    assert await told(rig, unresolved, ADMIN) == 1
