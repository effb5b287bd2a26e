"""Idempotency keys are each tenant's own: two shops whose provider accounts report the same reference, the same event
id, the same M-Pesa receipt both settle, each with its own receipt; one outbox dedupe key is one message per tenant."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, Order, OutboxMessage, Payment, PaymentEvent, ProviderConfig
from core.messages import Message
from core.outbox import enqueue
from core.vault import Vault
from payments.attempts import open_payment
from payments.base import Callback
from payments.mpesa.provider import parse_stk
from payments.paystack.signature import sign
from payments.service import EventResult, apply_event
from payments.starter import queue_start
from payments.states import OrderStatus, PaymentStatus
from tests.integration.test_paystack_checkout import CHAT, KEY, Rig, paystack_rig
from tests.support.seed import Shop, seed_shop

FUNDI_KEY = "sk_test_fundielectronics000000001"
FUNDI_CHAT = 5002


async def second_shop(database: Database, vault: Vault, clock: FakeClock) -> Shop:
    return await seed_shop(
        database,
        vault,
        clock,
        slug="fundi",
        name="Fundi Electronics",
        bot_token="222222:AAE-test-token-fundi-electronics-00",
        admin_id=9101,
    )


async def open_attempt(
    database: Database,
    clock: FakeClock,
    shop: Shop,
    chat: int,
    provider: str,
    status: PaymentStatus,
    *,
    minor: int = 42000,
    provider_ref: str | None = None,
) -> Payment:
    """A placed order of ``minor`` for the customer of ``chat`` in ``shop``, with one open attempt."""
    now = clock.now()
    async with database.uow() as uow:
        customer = Customer(
            tenant_id=shop.tenant_id, tg_user_id=chat, chat_id=chat, display_name="Otieno", created_at=now
        )
        uow.session.add(customer)
        await uow.session.flush()
        order = Order(
            tenant_id=shop.tenant_id,
            customer_id=customer.id,
            code=f"K{shop.tenant_id:05d}",
            status=OrderStatus.AWAITING_PAYMENT.value,
            total_minor=minor,
            currency="KES",
            contact_name="Otieno Ouma",
            contact_phone="+254708374149",
            delivery_method="pickup",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(order)
        await uow.session.flush()
        payment = await open_payment(
            uow.session,
            order,
            provider,
            status,
            now,
            expires_at=now + timedelta(minutes=30),
            callback_token=secrets.token_hex(20),
        )
        assert payment is not None  # the order's only attempt
        payment.provider_ref = provider_ref
        await uow.commit()
        return payment


async def status_of(database: Database, payment_id: int) -> str:
    async with database.uow() as uow:
        return str(await uow.session.scalar(select(Payment.status).where(Payment.id == payment_id)))


async def receipts(database: Database, chat: int) -> list[str]:
    async with database.uow() as uow:
        rows = await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat))
        return [str(row.payload["text"]) for row in rows if "Payment received" in str(row.payload.get("text"))]


async def events_of(database: Database, tenant_id: int) -> list[tuple[str, str]]:
    """The tenant's Paystack webhook events (charges and transfers): key and result."""
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(PaymentEvent.event_key, PaymentEvent.result)
            .where(PaymentEvent.tenant_id == tenant_id)
            .order_by(PaymentEvent.id)
        )
        return [(key, result) for key, result in rows if key.startswith(("charge.", "transfer."))]


async def take_paystack(rig: Rig, shop: Shop, key: str) -> None:
    """``shop`` takes Paystack with its own account (secret ``key``) on the simulator, webhooks to our server."""
    async with rig.database.uow() as uow:
        uow.session.add(
            ProviderConfig(
                tenant_id=shop.tenant_id,
                provider="paystack",
                enabled=True,
                secrets_enc=rig.vault.encrypt_json({"secret_key": key}),
                options={"base_url": rig.sim_url},
                updated_at=rig.clock.now(),
            )
        )
        await uow.commit()
    rig.sim.add_merchant(key, webhook_url=f"{rig.base_url}/pay/paystack/{shop.slug}")


async def initialize_elsewhere(rig: Rig, key: str, reference: str) -> None:
    """A transaction the merchant of ``key`` makes on its own Paystack account, outside dukabot, with ``reference``
    (Paystack keeps references unique per account only)."""
    async with rig.http.post(
        f"{rig.sim_url}/transaction/initialize",
        json={"email": "walk-in@fundi.example", "amount": 42000, "reference": reference},
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        assert response.status == 200, await response.text()


async def post_signed(http: aiohttp.ClientSession, url: str, body: bytes, key: str) -> int:
    headers = {"Content-Type": "application/json", "X-Paystack-Signature": sign(body, key)}
    async with http.post(url, data=body, headers=headers) as response:
        return response.status


async def test_two_shops_paystack_accounts_reporting_one_reference_and_event_id_both_settle(
    database: Database, vault: Vault, clock: FakeClock, tmp_path: Path
) -> None:
    async with paystack_rig(database, vault, clock, tmp_path) as rig:
        fundi = await second_shop(database, vault, clock)
        await take_paystack(rig, fundi, FUNDI_KEY)
        mama_payment = await rig.start(42000)
        fundi_payment = await open_attempt(database, clock, fundi, FUNDI_CHAT, "paystack", PaymentStatus.CREATED)
        async with database.uow() as uow:  # as pressing "Pay" does: a payment job, run by the worker
            fundi_attempt = await uow.session.get(Payment, fundi_payment.id)
            assert fundi_attempt is not None
            await queue_start(uow.session, fundi_attempt, FUNDI_CHAT, Message("⏳"), clock.now())
            await uow.commit()
        await rig.runtime.jobs.run_once()
        shared = mama_payment.reference

        # Fundi's account is paid for a transaction of its own that bears the reference of Mama's payment: its
        # webhook comes to Fundi's URL first. It is recorded for Fundi, unmatched, and blocks nothing of Mama's.
        await initialize_elsewhere(rig, FUNDI_KEY, shared)
        await rig.sim.pay(shared, secret_key=FUNDI_KEY)
        await rig.sim.drain()
        await rig.sim.pay(shared, secret_key=KEY)
        await rig.sim.pay(fundi_payment.reference, secret_key=FUNDI_KEY)
        await rig.sim.drain()

        # One event id in both accounts (an event dukabot records and does not act on): recorded for each.
        transfer = json.dumps({"event": "transfer.success", "data": {"reference": "TRF_1", "amount": 5000}}).encode()
        for slug, key in ((rig.shop.slug, KEY), (fundi.slug, FUNDI_KEY)):
            assert await post_signed(rig.http, f"{rig.base_url}/pay/paystack/{slug}", transfer, key) == 200

        assert await status_of(database, mama_payment.id) == PaymentStatus.PAID
        assert await status_of(database, fundi_payment.id) == PaymentStatus.PAID
        (mama_receipt,) = await receipts(database, CHAT)
        (fundi_receipt,) = await receipts(database, FUNDI_CHAT)
        assert f"Order: {(await rig.order(mama_payment)).code}" in mama_receipt
        assert f"Order: K{fundi.tenant_id:05d}" in fundi_receipt
        assert await events_of(database, rig.shop.tenant_id) == [
            (f"charge.success:{shared}", EventResult.APPLIED.value),
            ("transfer.success:TRF_1", "recorded"),
        ]
        assert await events_of(database, fundi.tenant_id) == [
            (f"charge.success:{shared}", EventResult.UNMATCHED.value),
            (f"charge.success:{fundi_payment.reference}", EventResult.APPLIED.value),
            ("transfer.success:TRF_1", "recorded"),
        ]


def stk_paid(checkout: str, receipt: str, shillings: int) -> bytes:
    """A Daraja STK callback of a paid push (reference A.3), as the simulator and Safaricom send it."""
    items = [
        {"Name": "Amount", "Value": shillings},
        {"Name": "MpesaReceiptNumber", "Value": receipt},
        {"Name": "TransactionDate", "Value": 20260115120000},
        {"Name": "PhoneNumber", "Value": 254708374149},
    ]
    callback = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": items},
    }
    return json.dumps({"Body": {"stkCallback": callback}}).encode()


async def test_two_shops_with_one_mpesa_checkout_id_and_receipt_both_settle(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    mama = await seed_shop(database, vault, clock)
    fundi = await second_shop(database, vault, clock)
    checkout, receipt = "ws_CO_15012026120000000001", "TAF1RKQ3XY"
    payments = {
        shop.tenant_id: await open_attempt(
            database, clock, shop, chat, "mpesa", PaymentStatus.PENDING, provider_ref=checkout
        )
        for shop, chat in ((mama, CHAT), (fundi, FUNDI_CHAT))
    }

    for tenant_id, payment in payments.items():
        params = {"reference": payment.reference, "checkout": checkout}
        (event,) = parse_stk(tenant_id, Callback(stk_paid(checkout, receipt, 420), {}, params))
        async with database.uow() as uow:
            applied = await apply_event(uow.session, tenant_id, event, clock)
            await uow.commit()
        assert applied.result is EventResult.APPLIED

    for tenant_id, chat in ((mama.tenant_id, CHAT), (fundi.tenant_id, FUNDI_CHAT)):
        assert await status_of(database, payments[tenant_id].id) == PaymentStatus.PAID
        (text,) = await receipts(database, chat)
        assert f"Order: K{tenant_id:05d}" in text and f"M-Pesa receipt: {receipt}" in text


async def test_one_dedupe_key_is_one_message_per_tenant(database: Database, vault: Vault, clock: FakeClock) -> None:
    mama = await seed_shop(database, vault, clock)
    fundi = await second_shop(database, vault, clock)
    owed = []
    async with database.uow() as uow:
        for tenant_id in (mama.tenant_id, fundi.tenant_id, mama.tenant_id):
            message = Message(f"order K1 of shop {tenant_id} is paid")
            owed.append(
                await enqueue(
                    uow.session,
                    tenant_id=tenant_id,
                    chat_id=9001,
                    dedupe_key="paid:K1",
                    message=message,
                    now=clock.now(),
                )
            )
        await uow.commit()
    assert owed == [True, True, False]
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.tenant_id, OutboxMessage.payload).order_by(OutboxMessage.id)
        )
        assert [(tenant_id, payload["text"]) for tenant_id, payload in rows] == [
            (mama.tenant_id, f"order K1 of shop {mama.tenant_id} is paid"),
            (fundi.tenant_id, f"order K1 of shop {fundi.tenant_id} is paid"),
        ]
