"""The M-Pesa checkout against the Daraja simulator (a real server) and the real callback routes: the push, every
result code, lost callbacks and the reconciler, duplicate and concurrent callbacks, forged ones, late answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import OutboxMessage
from core.vault import Vault
from payments.mpesa.codes import RESULT_CODES, SUBSCRIBER_LOCK, NextStep
from payments.mpesa.messages import RETRYABLE, why
from payments.states import PaymentStatus
from sandbox.mpesa.models import HOLD, NO_CALLBACK, SimOutcome
from tests.integration.test_mpesa_checkout_kit import PHONE, Rig, labels, mpesa_rig, texts


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path) as running:
        await running.seed()
        yield running


async def test_the_customer_pays_with_an_stk_push(rig: Rig) -> None:
    placed = await rig.place_order()
    assert "📱 M-Pesa" in labels(placed.messages[-1])
    proposal = await rig.press(placed, "M-Pesa")
    assert "Pay KES 420 for order" in texts(proposal) and "0708 374 149" in texts(proposal)
    assert labels(proposal.messages[-1]) == [
        "✅ Yes, send to 0708 374 149",
        "📞 Use another number",
        "💳 Other ways to pay",
    ]
    rig.sim.set_outcome(PHONE, HOLD)  # the customer has not entered the PIN yet
    sent = await rig.press(proposal, "Yes, send to")
    order = await rig.order()
    assert f"Sending the M-Pesa payment prompt to 0708 374 149 for KES 420 (order {order.code})" in texts(sent)
    assert f"The M-Pesa request for KES 420 (order {order.code}) is on your phone" in texts(sent)

    # Daraja got the push as the reference describes it.
    (txn,) = rig.sim.transactions.values()
    assert (txn.amount, txn.phone, txn.account_reference) == (420, PHONE, order.code)
    assert txn.transaction_type == "CustomerPayBillOnline" and txn.party_b == "174379"
    assert txn.callback_url.startswith(f"{rig.base_url}/pay/stk/")
    payment = await rig.payment()
    assert payment.status == PaymentStatus.PENDING and payment.provider_ref == txn.checkout_request_id
    assert payment.callback_token and payment.callback_token in txn.callback_url
    assert "The M-Pesa request for KES 420" in (await rig.to_customer())[-1].text

    # The live status, before and after the result.
    status = await rig.press(sent, "Check status")
    assert "waiting for your PIN" in texts(status) and status.messages[0].edit
    record = await rig.sim.complete(txn.checkout_request_id, 0)
    assert (
        record is not None
        and record.status == 200
        and record.response == b'{"ResultCode": 0, "ResultDesc": "Accepted"}'
    )
    status = await rig.press(sent, "Check status")
    assert texts(status) == f"✅ Order {order.code} is paid: KES 420 by M-Pesa. Thank you!"  # no "enter your PIN"

    payment = await rig.payment()
    assert payment.status == PaymentStatus.PAID and payment.provider_txn_id == txn.receipt
    assert (await rig.order()).status == "paid"
    receipt = (await rig.to_customer())[-1].text
    assert f"M-Pesa receipt: {txn.receipt}" in receipt and "Amount: KES 420" in receipt
    assert "Time: 15 Jan 2026, 12:00 EAT" in receipt  # 09:00 UTC is noon in Nairobi
    (alert,) = await rig.to_merchant()
    assert f"Order {order.code} is paid: KES 420 by M-Pesa" in alert.text


async def test_every_result_code_is_told_in_plain_words_with_its_next_step(rig: Rig) -> None:
    sent = await rig.checkout()
    await rig.settle()
    assert (await rig.payment()).status == PaymentStatus.PAID  # the default outcome: paid
    seen = 1
    for code, info in RESULT_CODES.items():
        if code == "0":
            continue
        placed = await rig.place_order()
        proposal = await rig.press(placed, "M-Pesa")
        rig.clock.advance(minutes=3)  # past Daraja's per-subscriber pause
        rig.sim.set_outcome(PHONE, SimOutcome(code))
        sent = await rig.press(proposal, "Yes, send to")
        assert "Sending the M-Pesa payment prompt" in texts(sent), code
        await rig.settle()
        payment = await rig.payment()
        seen += 1
        assert len(await rig.payments()) == seen
        assert payment.status == info.outcome.value, code
        message = (await rig.to_customer())[-1]
        assert why(code) in message.text, (code, message.text)
        if info.next_step in RETRYABLE and payment.provider_ref:
            # Daraja took the push, so its pause comes first: said, and "Try again" offered when it is over.
            assert "🔁 Try again will appear on this message in" in message.text, code
            assert "🔁 Try again" not in [text for text, _ in message.buttons], code
            rig.clock.advance(seconds=int(max(info.wait, SUBSCRIBER_LOCK).total_seconds()))
            await rig.runtime.jobs.run_once()
            message = (await rig.to_customer())[-1]
            assert message.key == f"payment:{payment.id}:{payment.status}:retry-ready", code
            assert why(code) in message.text and "will appear" not in message.text, code
        buttons = [text for text, _ in message.buttons]
        if info.next_step in (NextStep.RETRY, NextStep.PAYBILL):
            assert "🔁 Try again" in buttons, code
        if info.next_step is NextStep.CONTACT_MERCHANT:
            assert "🔁 Try again" not in buttons and "contact the shop" in message.text, code
        if info.next_step is NextStep.CALL_SAFARICOM:
            assert "call Safaricom on 100" in message.text, code
        assert ("🏦 Pay by Paybill" in buttons) is (info.offer_paybill or info.next_step is NextStep.PAYBILL), code
        assert "💳 Other ways to pay" in buttons
    assert not [c for c in rig.sim.callbacks if c.status != 200]


async def test_try_again_waits_for_daraja_then_pushes_again_and_a_success_follows_a_failure(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    rig.clock.advance(seconds=12)  # the customer took 12 s to enter a wrong PIN: 48 s of Daraja's minute are left
    (txn,) = rig.sim.transactions.values()
    await rig.sim.complete(txn.checkout_request_id, 2001)
    failed = (await rig.to_customer())[-1]
    order, payment = await rig.order(), await rig.payment()
    # The first message says how long, and offers no "Try again" that would only be refused.
    assert failed.text == (
        f"❌ The M-Pesa payment for order {order.code} (KES 420) did not go through: the M-Pesa PIN was wrong.\n"
        "M-Pesa needs a short pause before your phone can get a new request: 🔁 Try again will appear on this "
        "message in 48 s (at 12:01 EAT)."
    )
    assert [text for text, _ in failed.buttons] == ["💳 Other ways to pay"]

    too_soon = await rig.tap(f"mpretry.1:{order.id}")  # an older button, or a quick typist: refused, with the wait
    assert texts(too_soon) == (
        "M-Pesa allows a new request to 0708 374 149 only a short pause after the last one. "
        "Please try again in 48 s (at 12:01 EAT)."
    )
    assert len(rig.sim.transactions) == 1
    await rig.runtime.jobs.run_once()
    assert (await rig.to_customer())[-1].key == failed.key  # nothing offered before the pause is over

    rig.clock.advance(seconds=48)
    await rig.runtime.jobs.run_once()
    ready = (await rig.to_customer())[-1]
    assert ready.key == f"payment:{payment.id}:failed:retry-ready"
    assert ready.text == (
        f"❌ The M-Pesa payment for order {order.code} (KES 420) did not go through: the M-Pesa PIN was wrong.\n"
        "You can try again: a new request will be sent to your phone."
    )
    async with rig.database.uow() as uow:
        row = await uow.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == ready.key))
        assert row is not None and row.payload["replaces"] == failed.key  # edits the failure message in place
    retry = next(data for text, data in ready.buttons if text == "🔁 Try again")
    rig.sim.set_outcome(PHONE, None)
    again = await rig.tap(retry)
    assert "Sending the M-Pesa payment prompt to 0708 374 149" in texts(again)
    await rig.settle()
    first, second = await rig.payments()
    assert (first.status, second.status) == (PaymentStatus.FAILED, PaymentStatus.PAID)
    assert (await rig.order()).status == "paid"
    assert "M-Pesa receipt:" in (await rig.to_customer())[-1].text


async def test_a_push_still_open_is_not_sent_twice(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    sent = await rig.checkout()
    order = await rig.order()
    again = await rig.tap(f"mpretry.1:{order.id}")
    # A toast, not a second "enter your PIN" message that would stay below the receipt.
    assert again.messages == [] and again.notice == (
        f"The M-Pesa request for order {order.code} is still on your phone 0708 374 149: "
        "enter your PIN there, or wait for its result."
    )
    assert len(rig.sim.transactions) == 1 and len(await rig.payments()) == 1
    assert "🔄 Check status" in labels(sent.messages[-1])


async def test_a_lost_callback_is_recovered_by_the_reconciler(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, NO_CALLBACK)  # paid, but Daraja never calls back
    await rig.checkout()
    await rig.settle()
    assert (await rig.payment()).status == PaymentStatus.PENDING
    reconciler = rig.runtime.reconciler
    assert await reconciler.run_once() == 0  # nothing is due before 20 s
    rig.clock.advance(seconds=20)
    assert await reconciler.run_once() == 1
    payment = await rig.payment()
    assert payment.status == PaymentStatus.PAID and payment.provider_txn_id is None
    assert "M-Pesa receipt: see the M-Pesa SMS on your phone" in (await rig.to_customer())[-1].text
    # The late callback brings the receipt number: the same money, not a second payment.
    (txn,) = rig.sim.transactions.values()
    assert txn.receipt is not None
    record = rig.sim.callbacks
    body = rig.sim.stk_body(txn.checkout_request_id, SimOutcome(0))
    async with httpx.AsyncClient() as http:
        answer = await http.post(txn.callback_url, json=_jsonable(body))
    assert answer.status_code == 200 and not record
    payment = await rig.payment()
    assert payment.status == PaymentStatus.PAID and payment.provider_txn_id == txn.receipt
    assert len(await rig.to_merchant()) == 1  # one "paid" alert, no review


async def test_the_reconciler_waits_while_the_customer_has_not_answered_then_expires(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    reconciler = rig.runtime.reconciler
    rig.sim.inject_error("stk_query", code="500.003.02", message="Spike Arrest Violation")
    for _ in range(12):
        rig.clock.advance(seconds=20)
        await reconciler.run_once()
    payment = await rig.payment()
    assert payment.status == PaymentStatus.EXPIRED
    assert payment.checks >= 5  # queried with back-off, "being processed" and throttling taken as "not yet"
    message = (await rig.to_customer())[-1]
    assert "We did not hear back from M-Pesa" in message.text
    assert [t for t, _ in message.buttons] == ["🔁 Try again", "🏦 Pay by Paybill", "💳 Other ways to pay"]


async def test_the_same_callback_five_times_at_once_pays_once(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    (txn,) = rig.sim.transactions.values()
    await rig.sim.complete(txn.checkout_request_id, SimOutcome(0, send_callback=False))
    body = _jsonable(rig.sim.stk_body(txn.checkout_request_id, SimOutcome(0)))
    async with httpx.AsyncClient() as http:
        answers = await asyncio.gather(*(http.post(txn.callback_url, json=body) for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert all(a.json() == {"ResultCode": 0, "ResultDesc": "Accepted"} for a in answers)
    assert (await rig.payment()).status == PaymentStatus.PAID
    receipts = [m for m in await rig.to_customer() if "Payment received" in m.text]
    assert len(receipts) == 1 and len(await rig.to_merchant()) == 1
    events = [e for e in await rig.events() if e.outcome == "paid"]
    assert len(events) == 1


async def test_a_failure_after_a_success_changes_nothing(rig: Rig) -> None:
    await rig.checkout()
    await rig.settle()
    (txn,) = rig.sim.transactions.values()
    before = await rig.to_customer()
    body = _jsonable(rig.sim.stk_body(txn.checkout_request_id, SimOutcome(1032)))
    async with httpx.AsyncClient() as http:
        answer = await http.post(txn.callback_url, json=body)
    assert answer.status_code == 200
    assert (await rig.payment()).status == PaymentStatus.PAID
    assert await rig.to_customer() == before
    assert [e.result for e in await rig.events()][-1] == "ignored"


async def test_a_success_after_the_attempt_failed_is_paid_and_flagged(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    (txn,) = rig.sim.transactions.values()
    await rig.sim.complete(txn.checkout_request_id, 1037)
    assert (await rig.payment()).status == PaymentStatus.FAILED
    txn.outcome = None  # Daraja changes its mind: the customer did pay
    await rig.sim.complete(txn.checkout_request_id, 0)
    assert (await rig.payment()).status == PaymentStatus.PAID
    (alert,) = await rig.to_merchant()
    assert "after the attempt had ended" in alert.text


async def test_forged_callbacks_change_nothing_or_go_to_review(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    (txn,) = rig.sim.transactions.values()
    await rig.sim.complete(txn.checkout_request_id, SimOutcome(0, send_callback=False))
    body = _jsonable(rig.sim.stk_body(txn.checkout_request_id, SimOutcome(0)))
    async with httpx.AsyncClient() as http:
        unknown = await http.post(f"{rig.base_url}/pay/stk/{'ab' * 20}", json=body)
        garbage = await http.post(f"{rig.base_url}/pay/stk/not-a-token", json=body)
        assert (unknown.status_code, garbage.status_code) == (404, 404)
        assert [e.outcome for e in await rig.events()] == ["pending"]
        assert (await rig.payment()).status == PaymentStatus.PENDING
        # The right token, but one shilling paid for a KES 420 order.
        items = body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
        items[0]["Value"] = 1
        cheap = await http.post(txn.callback_url, json=body)
        assert cheap.status_code == 200
        # And a body for another push on this payment's URL.
        other = _jsonable(rig.sim.stk_body(txn.checkout_request_id, SimOutcome(0)))
        other["Body"]["stkCallback"]["CheckoutRequestID"] = "ws_CO_somebody_else"
        assert (await http.post(txn.callback_url, json=other)).status_code == 403
        assert (await http.post(txn.callback_url, content=b"not json")).status_code == 400
    payment = await rig.payment()
    assert payment.status == PaymentStatus.NEEDS_REVIEW and (await rig.order()).status == "needs_review"
    (alert,) = await rig.to_merchant()
    assert "needs your review" in alert.text and "KES 1" in alert.text
    assert "needs a check by the shop" in (await rig.to_customer())[-1].text


def _jsonable(body: object) -> object:
    """The simulator's body with Decimals as JSON numbers."""
    import json

    from sandbox.mpesa.models import dumps

    return json.loads(dumps(body))
