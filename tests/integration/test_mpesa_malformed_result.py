"""An STK callback with the right token whose ResultCode is not a result code is malformed: Daraja's refusal body
(400), the payment as it was, and STK Query settles it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from core.clock import FakeClock
from core.db.engine import Database
from core.vault import Vault
from payments.states import PaymentStatus
from sandbox.mpesa.models import HOLD, SimOutcome, dumps
from tests.integration.test_mpesa_checkout_kit import PHONE, Rig, mpesa_rig


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path) as running:
        await running.seed()
        yield running


@pytest.mark.parametrize("code", ["0 OR 1", "1032; DROP", "", "1.5", True, None, [0], "٣"])
async def test_a_result_code_that_is_no_code_is_refused_and_the_query_settles(rig: Rig, code: object) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    (txn,) = rig.sim.transactions.values()
    await rig.sim.complete(txn.checkout_request_id, SimOutcome(0, send_callback=False))
    body = json.loads(dumps(rig.sim.stk_body(txn.checkout_request_id, SimOutcome(1032))))
    body["Body"]["stkCallback"]["ResultCode"] = code
    before = await rig.outbox()
    async with httpx.AsyncClient() as http:
        answer = await http.post(txn.callback_url, json=body)
    assert (answer.status_code, answer.json()) == (400, {"ResultCode": 1, "ResultDesc": "Rejected"})
    payment = await rig.payment()
    assert (payment.status, payment.reason) == (PaymentStatus.PENDING, None)
    assert await rig.outbox() == before
    assert [e.outcome for e in await rig.events()] == ["pending"]
    # The reconciler asks Daraja, which knows the customer paid.
    rig.clock.advance(seconds=20)
    assert await rig.runtime.reconciler.run_once() == 1
    assert (await rig.payment()).status == PaymentStatus.PAID and (await rig.order()).status == "paid"


async def test_integer_codes_as_strings_and_documented_codes_still_parse(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    (txn,) = rig.sim.transactions.values()
    body = json.loads(dumps(rig.sim.stk_body(txn.checkout_request_id, SimOutcome(1032))))
    body["Body"]["stkCallback"]["ResultCode"] = " 1032 "
    async with httpx.AsyncClient() as http:
        answer = await http.post(txn.callback_url, json=body)
    assert (answer.status_code, answer.json()) == (200, {"ResultCode": 0, "ResultDesc": "Accepted"})
    assert (await rig.payment()).status == PaymentStatus.CANCELLED
