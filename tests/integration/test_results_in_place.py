"""Which customer messages of an M-Pesa attempt take the place of its start message ("the request is on your phone",
outbox key ``started:<payment id>``), read from the outbox rows the real checkout writes: the answer that arrives in
time does, success or not; a success that arrives after the customer was told the attempt ended comes as a new
message instead (a new message notifies the customer; an edit would not)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import OutboxMessage
from core.vault import Vault
from payments.states import PaymentStatus
from sandbox.mpesa.models import HOLD
from tests.integration.test_mpesa_checkout_kit import CUSTOMER, PHONE, Rig, mpesa_rig


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path) as running:
        await running.seed()
        yield running


async def owed_to_customer(rig: Rig) -> dict[str, dict[str, Any]]:
    """The customer's outbox rows: dedupe key -> payload."""
    async with rig.database.uow() as uow:
        rows = await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == CUSTOMER.chat_id))
        return {row.dedupe_key: dict(row.payload) for row in rows}


@pytest.mark.parametrize(("result", "status"), [(0, "paid"), (1032, "cancelled"), (2001, "failed")])
async def test_the_answer_in_time_replaces_the_start_message(rig: Rig, result: int, status: str) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    payment = await rig.payment()
    (txn,) = rig.sim.transactions.values()

    await rig.sim.complete(txn.checkout_request_id, result)

    assert (await rig.payment()).status == status
    owed = await owed_to_customer(rig)
    started = f"started:{payment.id}"
    assert "replaces" not in owed[started]
    answer = f"receipt:{payment.id}" if result == 0 else f"payment:{payment.id}:{status}"
    assert owed[answer]["replaces"] == started  # the keys themselves are unchanged


async def test_a_success_after_the_attempt_expired_takes_the_place_of_its_message(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    payment = await rig.payment()
    (txn,) = rig.sim.transactions.values()
    rig.sim.inject_error("stk_query", code="500.003.02", message="Spike Arrest Violation")
    for _ in range(12):
        rig.clock.advance(seconds=20)
        await rig.runtime.reconciler.run_once()
    assert (await rig.payment()).status == PaymentStatus.EXPIRED

    await rig.sim.complete(txn.checkout_request_id, 0)  # the customer entered the PIN after all

    assert (await rig.payment()).status == PaymentStatus.PAID
    owed = await owed_to_customer(rig)
    assert owed[f"payment:{payment.id}:expired"]["replaces"] == f"started:{payment.id}"
    # The receipt edits the message that says the attempt expired: an edit can be repeated after a crash unseen.
    assert owed[f"receipt:{payment.id}"]["replaces"] == f"started:{payment.id}"
