"""With initiator credentials, a C2B receipt pays its order only after Daraja's Transaction Status says it is real:
the confirmation waits (the customer is told), the result callback settles it, and a receipt that M-Pesa does not
confirm (unknown, another amount, another business number, wrong credentials) pays nothing and alerts the merchant."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import PaymentJob
from core.vault import Vault
from payments.mpesa.c2b_check import CHECK
from payments.mpesa.status import parse_result
from payments.mpesa.tables import C2BReceipt
from payments.states import PaymentStatus
from sandbox.mpesa.models import HOLD, SimOutcome, StatusRequest, dumps
from sandbox.mpesa.status import result_body
from tests.integration.test_mpesa_c2b import failed_push, register
from tests.integration.test_mpesa_c2b_secret import confirmation, run_cli, snapshot
from tests.integration.test_mpesa_checkout_kit import Rig, mpesa_rig

INITIATOR, CREDENTIAL = "apiop", "Q2VydGlmaWNhdGUtZW5jcnlwdGVkLXBhc3N3b3Jk"


async def with_initiator(rig: Rig, credential: str = CREDENTIAL) -> None:
    async with rig.database.uow() as uow:
        config = await TenantRepository(uow.session).provider_config(rig.tenant_id, "mpesa")
        assert config is not None and config.secrets_enc is not None
        config.secrets_enc = rig.vault.encrypt_json(
            {**rig.vault.decrypt_json(config.secrets_enc), "security_credential": credential}
        )
        await uow.commit()


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path) as running:
        await running.seed(initiator_name=INITIATOR)
        await with_initiator(running)
        running.sim.add_initiator("174379", INITIATOR, CREDENTIAL)
        running.sim.hold_status_results = True
        yield running


async def receipts(rig: Rig) -> list[tuple[str, str, str | None]]:
    async with rig.database.uow() as uow:
        rows = await uow.session.scalars(select(C2BReceipt).order_by(C2BReceipt.id))
        return [(r.receipt, r.status, r.reason) for r in rows]


async def ask(rig: Rig) -> int:
    """Run the payment jobs that are due once: the job worker asks Daraja (never the confirmation's route)."""
    return await rig.runtime.jobs.run_once()


async def jobs_of(rig: Rig) -> list[tuple[str, str, int]]:
    async with rig.database.uow() as uow:
        rows = await uow.session.scalars(select(PaymentJob).where(PaymentJob.kind == CHECK).order_by(PaymentJob.id))
        return [(row.kind, row.status, row.attempts) for row in rows]


def only_request(rig: Rig) -> StatusRequest:
    (request,) = rig.sim.status_requests.values()
    return request


async def test_the_order_is_paid_only_after_transaction_status_confirms_the_receipt(rig: Rig) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    paid = await rig.sim.c2b_pay("174379", order.code, 420)
    assert paid.confirmation is not None and paid.confirmation.status == 200
    # Recorded and waiting: nothing paid yet, the customer told.
    assert (await rig.order()).status == "awaiting_payment"
    assert [p.status for p in await rig.payments()] == [PaymentStatus.FAILED]
    assert await receipts(rig) == [(paid.trans_id, "waiting", None)]
    told = (await rig.to_customer())[-1].text
    assert told == (
        f"🔎 We received your M-Pesa payment of KES 420 for order {order.code} (receipt {paid.trans_id}). "
        "We are confirming it with M-Pesa: your receipt follows here as soon as it is confirmed."
    )
    assert rig.sim.status_requests == {}  # the job worker asks, not the confirmation's route
    assert await ask(rig) == 1
    request = only_request(rig)
    assert (request.receipt, request.shortcode, request.initiator_valid) == (paid.trans_id, "174379", True)
    token = request.result_url.rsplit("/", 1)[-1]
    assert request.result_url == f"{rig.base_url}/pay/c2b/result/{token}" and len(token) == 40
    assert request.timeout_url == f"{rig.base_url}/pay/c2b/timeout/{token}"
    # Daraja's answer: the receipt is real, completed, for KES 420 to this Paybill.
    record = await rig.sim.answer_status(request.conversation_id)
    assert (record.status, json.loads(record.response)) == (200, {"ResultCode": 0, "ResultDesc": "Accepted"})
    payment = await rig.payment()
    assert (payment.status, payment.provider_txn_id, payment.paid_minor) == (PaymentStatus.PAID, paid.trans_id, 42000)
    assert (await rig.order()).status == "paid"
    assert await receipts(rig) == [(paid.trans_id, "confirmed", None)]
    assert f"M-Pesa receipt: {paid.trans_id}" in (await rig.to_customer())[-1].text
    # Daraja delivers its result again, and the confirmation again: nothing new.
    before = await snapshot(rig)
    again = await rig.sim.answer_status(request.conversation_id)
    async with httpx.AsyncClient() as http:
        assert paid.confirmation is not None
        repeated = await http.post(paid.confirmation.url, content=paid.confirmation.content)
    assert (again.status, repeated.status_code) == (200, 200)
    assert await snapshot(rig) == before and len(rig.sim.status_requests) == 1


async def test_a_receipt_m_pesa_does_not_confirm_pays_nothing(rig: Rig) -> None:
    cheap = await rig.sim.c2b_pay("174379", "TIP", 1)  # a real receipt, for KES 1 (before the URLs: no callback)
    confirm, _ = await register(rig)
    await failed_push(rig)
    order = await rig.order()
    elsewhere = await rig.sim.c2b_pay("600984", order.code, 420)  # a real receipt, of another Paybill
    async with httpx.AsyncClient() as http:
        for receipt in ("QWE1RTY2UI", cheap.trans_id, elsewhere.trans_id):
            answer = await http.post(confirm, content=confirmation(order.code, receipt=receipt))
            assert answer.status_code == 200
    assert await ask(rig) == 3
    forged = list(rig.sim.status_requests.values())
    assert sorted(r.receipt for r in forged) == sorted(["QWE1RTY2UI", cheap.trans_id, elsewhere.trans_id])
    for request in sorted(forged, key=lambda r: r.receipt == elsewhere.trans_id):  # that one's answer comes last
        assert (await rig.sim.answer_status(request.conversation_id)).status == 200
    assert (await rig.order()).status == "awaiting_payment"
    assert [p.status for p in await rig.payments()] == [PaymentStatus.FAILED]
    settled = {receipt: (status, reason) for receipt, status, reason in await receipts(rig)}
    assert settled["QWE1RTY2UI"] == ("refused", "M-Pesa answered 2032: The transaction does not exist.")
    assert settled[cheap.trans_id] == ("refused", "M-Pesa reported another amount")
    assert settled[elsewhere.trans_id] == ("refused", "M-Pesa answered 2032: The transaction does not exist.")
    alerts = [a.text for a in await rig.to_merchant() if "NOT confirmed" in a.text]
    assert len(alerts) == 3 and "Nothing was marked paid" in alerts[0]
    assert [sum(f"receipt {r.receipt}" in a for a in alerts) for r in forged] == [1, 1, 1]
    told = (await rig.to_customer())[-1].text
    assert told.startswith(f"⚠️ M-Pesa did not confirm the payment with receipt {elsewhere.trans_id}")


async def test_wrong_initiator_credentials_confirm_nothing(
    database: Database, vault: Vault, clock: FakeClock, tmp_path: Path
) -> None:
    async with mpesa_rig(database, vault, clock, tmp_path) as rig:
        await rig.seed(initiator_name=INITIATOR)
        await with_initiator(rig, "not-the-credential")
        rig.sim.add_initiator("174379", INITIATOR, CREDENTIAL)
        await register(rig)
        await failed_push(rig)
        order = await rig.order()
        paid = await rig.sim.c2b_pay("174379", order.code, 420)
        await ask(rig)
        await rig.settle()  # the result comes by itself
        assert only_request(rig).initiator_valid is False
        assert await receipts(rig) == [
            (paid.trans_id, "refused", "M-Pesa answered 2001: The initiator information is invalid.")
        ]
        assert (await rig.order()).status == "awaiting_payment"


async def test_forged_or_malformed_results_change_nothing(rig: Rig) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    paid = await rig.sim.c2b_pay("174379", order.code, 420)
    await ask(rig)
    request = only_request(rig)
    good = dumps(result_body(rig.sim, request))
    before = await snapshot(rig)
    async with httpx.AsyncClient() as http:
        unknown = await http.post(f"{rig.base_url}/pay/c2b/result/{'ab' * 20}", content=good)
        garbage = await http.post(f"{rig.base_url}/pay/c2b/result/not-a-token", content=good)
        assert (unknown.status_code, garbage.status_code) == (404, 404)
        for body in (b"not json", b'{"Result": "x"}', b'{"Result": {"ResultCode": "0 OR 1"}}', b"[]"):
            refused = await http.post(request.result_url, content=body)
            assert (refused.status_code, refused.json()) == (400, {"ResultCode": 1, "ResultDesc": "Rejected"})
        assert await snapshot(rig) == before
        assert await receipts(rig) == [(paid.trans_id, "waiting", None)]
        # The real answer still settles it.
        assert (await http.post(request.result_url, content=good)).status_code == 200
    assert await receipts(rig) == [(paid.trans_id, "confirmed", None)]
    assert (await rig.order()).status == "paid"


async def test_a_check_that_times_out_keeps_the_receipt_waiting_and_tells_the_merchant(rig: Rig) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    paid = await rig.sim.c2b_pay("174379", order.code, 420)
    await ask(rig)
    record = await rig.sim.answer_status(only_request(rig).conversation_id, timed_out=True)
    assert record.status == 200 and record.url.endswith("/pay/c2b/timeout/" + record.url.rsplit("/", 1)[-1])
    assert await receipts(rig) == [(paid.trans_id, "waiting", "the check timed out at M-Pesa")]
    assert (await rig.order()).status == "awaiting_payment"
    alert = (await rig.to_merchant())[-1].text
    assert "is waiting for confirmation" in alert and f"receipt {paid.trans_id}" in alert


async def test_a_check_daraja_fails_with_a_5xx_is_asked_again_later(rig: Rig) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    rig.sim.inject_error("transaction_status", status=500, code="500.003.1001", message="Internal Server Error")
    paid = await rig.sim.c2b_pay("174379", order.code, 420)
    assert paid.confirmation is not None and paid.confirmation.status == 200
    assert await ask(rig) == 1
    assert rig.sim.status_requests == {}
    assert await receipts(rig) == [(paid.trans_id, "waiting", None)]
    assert await ask(rig) == 0  # not before its back-off
    rig.clock.advance(minutes=2)
    assert await ask(rig) == 1
    assert (await rig.sim.answer_status(only_request(rig).conversation_id)).status == 200
    assert await receipts(rig) == [(paid.trans_id, "confirmed", None)]
    assert [a.text for a in await rig.to_merchant() if "could not be asked" in a.text] == []


async def test_a_refusal_that_will_not_change_gives_up_at_once_and_tells_the_merchant(rig: Rig) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    paid = await rig.sim.c2b_pay("174379", order.code, 420)
    await with_initiator(rig, "")  # the initiator credentials were removed meanwhile
    assert await ask(rig) == 1
    assert rig.sim.status_requests == {}
    assert await receipts(rig) == [
        (paid.trans_id, "waiting", "M-Pesa did not take the request (provider.not_configured)")
    ]
    assert "could not be asked to confirm it" in (await rig.to_merchant())[-1].text
    assert await jobs_of(rig) == [("mpesa.c2b_check", "failed", 1)]


def test_the_documented_result_sample_parses() -> None:
    sample = {
        "Result": {
            "ConversationID": "AG_20180223_0000493344ae97d86f75",
            "OriginatorConversationID": "3213-416199-2",
            "ReferenceData": {"ReferenceItem": {"Key": "Occasion"}},
            "ResultCode": 0,
            "ResultDesc": "The service request is processed successfully.",
            "ResultParameters": {
                "ResultParameter": [
                    {"Key": "DebitPartyName", "Value": "600310 - Safaricom333"},
                    {"Key": "DebitPartyName", "Value": "254708374149 - John Doe"},
                    {"Key": "TransactionReason"},
                    {"Key": "TransactionStatus", "Value": "Completed"},
                    {"Key": "Amount", "Value": "300"},
                    {"Key": "ReceiptNo", "Value": "MBN31H462N"},
                ]
            },
            "ResultType": 0,
            "TransactionID": "MBN0000000",
        }
    }
    parsed = parse_result(json.dumps(sample))
    assert (parsed.result_code, parsed.receipt, parsed.status, str(parsed.amount)) == (
        "0",
        "MBN31H462N",
        "Completed",
        "300",
    )
    assert parsed.parameters["DebitPartyName"] == "600310 - Safaricom333" and parsed.credit_party == ""


async def test_an_stk_callback_arriving_while_its_c2b_copy_waits_pays_once(rig: Rig) -> None:
    confirm, _ = await register(rig)
    rig.sim.set_outcome("254708374149", HOLD)
    await rig.checkout()
    (txn,) = rig.sim.transactions.values()
    await rig.sim.complete(txn.checkout_request_id, SimOutcome(0, send_callback=False))
    assert txn.receipt is not None
    order = await rig.order()
    async with httpx.AsyncClient() as http:
        held = await http.post(confirm, content=confirmation(order.code, receipt=txn.receipt))
        assert held.status_code == 200
        assert await receipts(rig) == [(txn.receipt, "waiting", None)]
        await ask(rig)
        stk = await http.post(txn.callback_url, content=dumps(rig.sim.stk_body(txn.checkout_request_id, SimOutcome(0))))
        assert stk.status_code == 200
    assert (await rig.order()).status == "paid"
    assert (await rig.sim.answer_status(only_request(rig).conversation_id)).status == 200
    assert await receipts(rig) == [(txn.receipt, "confirmed", None)]
    payments = await rig.payments()
    assert [(p.status, p.provider_txn_id) for p in payments] == [(PaymentStatus.PAID, txn.receipt)]
    assert len([a for a in await rig.to_merchant() if "is paid" in a.text]) == 1


async def test_a_lost_answer_is_asked_again_from_the_cli(rig: Rig, tmp_path: Path) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    paid = await rig.sim.c2b_pay("174379", order.code, 420)
    await ask(rig)
    lost = only_request(rig)  # Daraja's answer to it never comes
    asked = await asyncio.to_thread(
        run_cli,
        "provider",
        "recheck-c2b",
        "mama-mboga",
        "--public-url",
        rig.base_url,
        database=rig.database,
        data_dir=tmp_path,
    )
    assert asked.exit_code == 0, asked.output
    assert "Asked Daraja about the waiting Paybill payments of 'mama-mboga' (count: 1)" in asked.output
    again = [r for r in rig.sim.status_requests.values() if r is not lost]
    assert [(r.receipt, r.result_url) for r in again] == [(paid.trans_id, lost.result_url)]
    assert (await rig.sim.answer_status(again[0].conversation_id)).status == 200
    assert (await rig.order()).status == "paid"
    assert await receipts(rig) == [(paid.trans_id, "confirmed", None)]
    late = await rig.sim.answer_status(lost.conversation_id)  # the first answer turns up after all: nothing more
    assert late.status == 200 and [p.status for p in await rig.payments()] == [PaymentStatus.FAILED, PaymentStatus.PAID]
