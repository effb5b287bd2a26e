"""The Paybill fallback: C2B URLs registered with the simulator, payments matched by the order code typed as the
account number, and everything that does not fit parked for the merchant, never paid silently nor lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.vault import Vault
from payments.mpesa.c2b import c2b_urls
from payments.mpesa.provider import MpesaProvider
from payments.states import PaymentStatus
from sandbox.mpesa.models import dumps
from tests.integration.test_mpesa_checkout_kit import PHONE, Rig, labels, mpesa_rig, texts
from tests.support.mpesa import c2b_secret

SLUG = "mama-mboga"  # tests.support.seed


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path) as running:
        await running.seed()
        yield running


async def register(rig: Rig) -> tuple[str, str]:
    """What `dukabot provider register-c2b` does: the shop's C2B secret (made on first use), its URLs registered."""
    async with rig.database.uow() as uow:
        tenant = await uow.session.get(Tenant, rig.tenant_id)
        assert tenant is not None
        provider = await rig.runtime.registry.for_tenant(uow.session, tenant, "mpesa")
        secret = await c2b_secret(uow.session, rig.vault, SLUG, rig.clock.now())
        await uow.commit()
    assert isinstance(provider, MpesaProvider)
    confirmation, validation = c2b_urls(rig.base_url, SLUG, secret)
    assert await provider.register_c2b(confirmation, validation) == "Success"
    urls = rig.sim.shortcodes["174379"].urls
    assert urls is not None and (urls.confirmation_url, urls.validation_url, urls.version) == (
        confirmation,
        validation,
        "v2",
    )
    assert "mpesa" not in confirmation.lower()
    return confirmation, validation


async def failed_push(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, 1037)  # the phone cannot be reached: Paybill is the way out
    await rig.checkout()
    await rig.settle()
    # Daraja's pause ends and "Try again" is offered on the failure message (a payment job): the jobs these tests
    # count from here on are the receipt checks.
    rig.clock.advance(seconds=60)
    await rig.runtime.jobs.run_once()


async def test_after_a_failed_push_the_customer_pays_by_paybill(rig: Rig) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    ended = (await rig.to_customer())[-1]
    assert "your phone could not be reached" in ended.text
    paybill = next(data for text, data in ended.buttons if text == "🏦 Pay by Paybill")
    instructions = await rig.tap(paybill)
    assert "Business number: 174379" in texts(instructions)
    assert f"Account number: {order.code}" in texts(instructions) and "Amount: KES 420 (exactly)" in texts(instructions)
    waiting = (await rig.payments())[-1]
    assert waiting.status == PaymentStatus.PENDING and waiting.callback_token is None

    typed = f" {order.code[:3].lower()}-{order.code[3:].lower()} "  # customers type codes any way
    result = await rig.sim.c2b_pay("174379", typed, 420)
    assert result.confirmation is not None and result.confirmation.status == 200
    assert result.confirmation.response == b'{"ResultCode": 0, "ResultDesc": "Success"}'
    paid = (await rig.payments())[-1]
    assert paid.id == waiting.id and paid.status == PaymentStatus.PAID and paid.provider_txn_id == result.trans_id
    assert (await rig.order()).status == "paid"
    assert f"M-Pesa receipt: {result.trans_id}" in (await rig.to_customer())[-1].text
    (alert,) = await rig.to_merchant()
    assert f"Order {order.code} is paid" in alert.text


async def test_a_mistyped_account_number_is_parked_for_the_merchant(rig: Rig) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    # One character off; a swap of neighbours would be no mistake at all when the two are the same.
    mistyped = order.code[:-1] + ("Y" if order.code[-1] == "X" else "X")
    result = await rig.sim.c2b_pay("174379", mistyped, 420)
    assert result.confirmation is not None and result.confirmation.status == 200
    payment = (await rig.payments())[-1]
    assert payment.status == PaymentStatus.NEEDS_REVIEW and payment.provider_txn_id == result.trans_id
    assert (await rig.order()).status == "needs_review"
    (alert,) = await rig.to_merchant()
    assert f"is not exactly the order code {order.code}" in alert.text

    # An account number that is no order at all: recorded, the merchant told, nothing paid.
    stray = await rig.sim.c2b_pay("174379", "RENT-JUNE", 5000)
    assert stray.confirmation is not None and stray.confirmation.status == 200
    unmatched = [e for e in await rig.events() if e.payment_id is None]
    assert [(e.result, e.provider_txn_id, e.amount_minor) for e in unmatched] == [("unmatched", stray.trans_id, 500000)]
    alerts = await rig.to_merchant()
    assert len(alerts) == 2 and "“RENT-JUNE”" in alerts[-1].text and "KES 5,000" in alerts[-1].text
    # Daraja delivers the same confirmation again: nothing new.
    async with httpx.AsyncClient() as http:
        assert stray.confirmation is not None
        again = await http.post(stray.confirmation.url, content=stray.confirmation.content)
    assert again.status_code == 200 and len(await rig.to_merchant()) == 2


async def test_partial_and_over_payments_go_to_review(rig: Rig) -> None:
    await register(rig)
    await failed_push(rig)
    order = await rig.order()
    await rig.sim.c2b_pay("174379", order.code, 400)
    assert (await rig.payments())[-1].status == PaymentStatus.NEEDS_REVIEW
    alert = (await rig.to_merchant())[-1]
    assert "KES 400" in alert.text and "KES 420" in alert.text
    # More money for the same order: a second payment, also for review, never a silent "paid".
    await rig.sim.c2b_pay("174379", order.code, 500)
    statuses = [p.status for p in await rig.payments()]
    assert statuses.count(PaymentStatus.NEEDS_REVIEW) == 2 and PaymentStatus.PAID not in statuses


async def test_a_c2b_copy_of_an_stk_payment_is_recognised(rig: Rig) -> None:
    confirmation, _ = await register(rig)
    await rig.checkout()
    await rig.settle()
    (txn,) = rig.sim.transactions.values()
    order = await rig.order()
    before = await rig.outbox()
    body = {
        "TransactionType": "Pay Bill",
        "TransID": txn.receipt,
        "TransTime": "20260115120000",
        "TransAmount": "420.00",
        "BusinessShortCode": "174379",
        "BillRefNumber": order.code,
        "InvoiceNumber": "",
        "OrgAccountBalance": "420.00",
        "ThirdPartyTransID": "",
        "MSISDN": "bbff37cea44ac0b2d964ee0dfb8d2df8513dc7ba1b36129a929fc3fbd6dd4af4",
        "FirstName": "JOHN",
        "MiddleName": "",
        "LastName": "",
    }
    async with httpx.AsyncClient() as http:
        answer = await http.post(confirmation, content=dumps(body))
        forged = await http.post(confirmation.replace("/confirm", "x/confirm"), content=dumps(body))
        other_shop = await http.post(confirmation.replace(f"/{SLUG}/", "/fundi/"), content=dumps(body))
    assert answer.status_code == 200 and (forged.status_code, other_shop.status_code) == (404, 404)
    assert await rig.outbox() == before
    assert [p.status for p in await rig.payments()] == [PaymentStatus.PAID]


async def test_validation_refuses_unknown_account_numbers_when_the_shop_enables_it(rig: Rig) -> None:
    async with rig.database.uow() as uow:
        config = await TenantRepository(uow.session).provider_config(rig.tenant_id, "mpesa")
        assert config is not None
        config.options = {**config.options, "c2b_validation": True}
        await uow.commit()
    await register(rig)
    rig.sim.shortcodes["174379"].external_validation = True
    await failed_push(rig)
    order = await rig.order()
    refused = await rig.sim.c2b_pay("174379", "NOSUCH", 420)
    assert (refused.accepted, refused.result_code, refused.confirmation) == (False, "C2B00012", None)
    accepted = await rig.sim.c2b_pay("174379", order.code, 420)
    assert (accepted.accepted, accepted.result_code) == (True, "0")
    assert accepted.confirmation and accepted.confirmation.status == 200
    assert (await rig.order()).status == "paid"


async def test_a_till_shop_offers_no_paybill(
    database: Database, vault: Vault, clock: FakeClock, tmp_path: Path
) -> None:
    async with mpesa_rig(database, vault, clock, tmp_path) as rig:
        rig.sim.shortcodes["174379"].tills = frozenset({"5123456"})
        await rig.seed(till="5123456")
        await failed_push(rig)
        (txn,) = rig.sim.transactions.values()
        assert (txn.transaction_type, txn.party_b, txn.shortcode) == ("CustomerBuyGoodsOnline", "5123456", "174379")
        ended = (await rig.to_customer())[-1]
        assert "🏦 Pay by Paybill" not in [text for text, _ in ended.buttons]
        assert "Paybill" not in ended.text
        order = await rig.order()
        refused = await rig.tap(f"mppb.1:{order.id}")
        assert "Paybill is not available" in texts(refused) and labels(refused.messages[0]) == ["💳 Other ways to pay"]


async def test_the_source_address_allowlist(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> None:
    async with mpesa_rig(database, vault, clock, tmp_path) as rig:
        await rig.seed(ip_allowlist="safaricom")
        await rig.checkout()
        await rig.settle()
        (record,) = rig.sim.callbacks
        assert record.status == 403  # 127.0.0.1 is not Safaricom
        assert (await rig.payment()).status == PaymentStatus.PENDING
    async with rig.database.uow() as uow:
        config = await TenantRepository(uow.session).provider_config(rig.tenant_id, "mpesa")
        assert config is not None
        config.options = {**config.options, "trusted_proxies": "127.0.0.1"}
        await uow.commit()
    async with mpesa_rig(database, vault, clock, tmp_path) as rig2:
        rig2.tenant_id = rig.tenant_id
        payment = await rig2.payment()
        url = f"{rig2.base_url}/pay/stk/{payment.callback_token}"
        async with httpx.AsyncClient() as http:
            spoofed = await http.post(url, content=record.content, headers={"X-Forwarded-For": "10.0.0.9"})
            proxied = await http.post(url, content=record.content, headers={"X-Forwarded-For": "196.201.214.200"})
        assert (spoofed.status_code, proxied.status_code) == (403, 200)
        assert (await rig2.payment()).status == PaymentStatus.PAID
