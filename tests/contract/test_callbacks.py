"""What every online provider's callbacks must do, run once per registered provider (``provider`` in conftest.py):
through the real server on a real socket, the provider's simulator, the fake Telegram; what is asserted is what the
provider reads (the HTTP answer), what the database holds, and what the customer and the merchant read."""

from __future__ import annotations

import asyncio

import pytest

from core.db.tables import Payment, PaymentEvent
from payments.states import PaymentStatus
from tests.contract.harness import Contract
from tests.contract.kits import CallbackKind

RECEIPT = "Payment received"


def paid_events(events: list[PaymentEvent]) -> int:
    return sum(event.outcome == "paid" and event.result == "applied" for event in events)


async def test_a_forged_or_unsigned_callback_is_refused_and_changes_nothing(contract: Contract) -> None:
    await contract.start()
    await contract.kit.pay()
    before = await contract.server.snapshot()

    for kind in ("forged", "unsigned"):
        status, _ = await contract.deliver(await contract.callback(kind))
        assert status == contract.kit.refused[kind], kind

    assert await contract.server.snapshot() == before  # not a row of any table changed
    assert (await contract.payment()).status == PaymentStatus.PENDING
    assert contract.customer.count(RECEIPT) == 0 and contract.merchant.count(contract.kit.paid_alert) == 0

    # The genuine one still pays: the refusals left the payment as it was.
    assert (await contract.deliver(await contract.callback("genuine")))[0] == 200
    assert (await contract.payment()).status == PaymentStatus.PAID


@pytest.mark.manual_too
async def test_the_same_callback_twice_is_applied_once(contract: Contract) -> None:
    """The provider's callback delivered twice (each answered 200, so the provider stops sending); for the manual
    method, the merchant's approval given twice."""
    await contract.paid()
    await contract.kit.confirm_paid(contract.order_code)
    await paid_once(contract)


async def test_five_copies_at_once_are_applied_once(contract: Contract) -> None:
    """Five connections at once: only PostgreSQL runs them truly in parallel (SQLite queues writers), where the
    unique keys and conditional updates, not a read before a write, must hold."""
    await contract.start()
    await contract.kit.pay()
    genuine = await contract.callback("genuine")
    answers = await asyncio.gather(*(contract.deliver(genuine) for _ in range(5)))
    assert [status for status, _ in answers] == [200] * 5
    await paid_once(contract)


async def paid_once(contract: Contract) -> None:
    await contract.server.settle()
    payment = await contract.payment()
    assert (payment.status, payment.paid_minor) == (PaymentStatus.PAID, 42000)
    assert await contract.order_status() == "paid"
    assert paid_events(await contract.events()) == 1
    assert contract.customer.count(RECEIPT) == 1 and contract.merchant.count(contract.kit.paid_alert) == 1
    receipt = contract.customer.find(RECEIPT)
    assert f"Order: {contract.order_code}" in receipt.content and f"Amount: {contract.money(42000)}" in receipt.content


@pytest.mark.parametrize("kind", ["wrong_amount", "wrong_currency"])
async def test_a_wrong_amount_or_currency_goes_to_review_never_paid(contract: Contract, kind: CallbackKind) -> None:
    await contract.start()
    await contract.kit.pay()
    status, _ = await contract.deliver(await contract.callback(kind))
    assert status == 200  # taken: the money is real, the shop must look at it
    payment: Payment = await contract.payment()
    assert payment.status == PaymentStatus.NEEDS_REVIEW and payment.reason
    assert await contract.order_status() == "needs_review"
    assert contract.customer.count(RECEIPT) == 0 and contract.merchant.count(contract.kit.paid_alert) == 0
    assert contract.customer.count("needs a check by the shop") == 1
    held = f"the amount received ({contract.kit.received[kind]}) differs from the order total ({contract.money(42000)})"
    assert payment.reason == held
    alert = contract.merchant.find("needs your review")
    assert alert.content.startswith(f"⚠️ Order {contract.order_code} needs your review (")
    assert alert.content.endswith(f"): {held}."), alert.content


async def test_a_lost_callback_is_settled_by_query(contract: Contract) -> None:
    if not contract.kit.queries:
        pytest.skip(f"{contract.kit.name} cannot be asked about a payment: only its report tells")
    await contract.start()
    await contract.kit.pay()  # and the callback never comes
    runtime = contract.server.runtime
    assert runtime is not None
    contract.clock.advance(**contract.kit.query_after)
    await runtime.reconciler.run_once()
    await contract.server.settle()
    payment = await contract.payment()
    assert (payment.status, payment.paid_minor) == (PaymentStatus.PAID, 42000)
    assert await contract.order_status() == "paid"
    assert contract.customer.count(RECEIPT) == 1 and contract.merchant.count(contract.kit.paid_alert) == 1

    # The callback comes late after all: the same money, told once.
    await contract.deliver(await contract.callback("genuine"))
    await paid_once(contract)


async def test_a_declined_payment_is_never_paid_and_the_customer_is_told(contract: Contract) -> None:
    """Declined at the provider, reported by its callback or found by its query: failed, with a way forward."""
    if not contract.kit.reports_declines:
        pytest.skip(f"{contract.kit.name} never tells the shop of a declined payment: the attempt expires")
    await contract.start()
    await contract.kit.decline()
    runtime = contract.server.runtime
    assert runtime is not None
    contract.clock.advance(**contract.kit.query_after)
    await runtime.reconciler.run_once()
    await contract.server.settle()
    payment = await contract.payment()
    assert payment.status == PaymentStatus.FAILED and payment.paid_minor in (0, None)
    assert await contract.order_status() == "awaiting_payment"
    assert contract.customer.count(RECEIPT) == 0 and contract.merchant.count(contract.kit.paid_alert) == 0
    told = contract.customer.find("did not go through")
    assert f"order {contract.order_code} ({contract.money(42000)}) did not go through" in told.content
    assert told.buttons, "no way forward offered"  # pay again, or another way (each provider words its own)
