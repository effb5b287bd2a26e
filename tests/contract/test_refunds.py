"""A refund, for every registered provider that has refunds: asked once and confirmed with a double tap, and
completed twice over (the provider's webhook delivered twice, the merchant's Done pressed twice), the money moves
once and the customer is told once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from core.db.tables import Refund
from core.money import Money
from payments.states import PaymentStatus
from tests.contract.harness import Contract


@pytest.mark.manual_too
async def test_the_same_refund_asked_twice_moves_money_once(contract: Contract) -> None:
    kit, merchant = contract.kit, contract.merchant
    if kit.refunds_by is None:
        pytest.skip(f"{kit.name} has no refunds")
    await contract.paid()

    await merchant.send(f"/refund {contract.order_code} {Money(10000, kit.currency).major()}")
    confirm = f"✅ Confirm: refund {contract.money(10000)}"
    await asyncio.gather(merchant.tap(confirm), merchant.tap(confirm))  # a double tap
    runtime = contract.server.runtime
    assert runtime is not None
    await runtime.reconciler.run_once()  # sends the refunds the shop asked the provider for
    await contract.server.settle()
    await kit.finish_refund(merchant)
    await runtime.reconciler.run_once()
    await contract.server.settle()

    payment = await contract.payment()
    assert (payment.status, payment.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 10000)
    async with contract.server.database.uow() as uow:
        refunds = list(await uow.session.scalars(select(Refund)))
    assert [(r.amount_minor, r.provider) for r in refunds] == [(10000, kit.name)]
    assert kit.refunds_at_provider() in (None, 1)
    assert contract.customer.count(kit.refund_sent) == 1
