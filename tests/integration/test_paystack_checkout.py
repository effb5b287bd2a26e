"""Paystack through the real server: the app's webhook and return routes on a real socket, the Paystack simulator as a
real server (initialize, verify, checkout, signed webhooks back to the app), a real database, a fake clock.

The happy path through the chat (fake Telegram) is at the end; the rest drives the payment from its start."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from admin import shops
from core.buttons import PayWith
from core.clock import FakeClock, utc
from core.db.engine import Database
from core.db.tables import Customer, Order, OutboxMessage, Payment, PaymentEvent, ProviderConfig, Tenant
from core.messages import Message
from core.settings import Settings
from core.vault import Vault
from flows import router
from flows.context import Reply
from flows.inbound import Actor, Inbound
from payments import paystack
from payments.attempts import open_payment
from payments.paystack.signature import SIGNATURE_HEADER, sign
from payments.starter import queue_start
from payments.states import PaymentStatus
from sandbox.paystack.simulator import PaystackSimulator, RetryPolicy, serve
from tests.support.app import VAULT_KEY, Person, place_order, shop_server
from tests.support.seed import Shop, seed_shop
from webhooks.app import build_app
from webhooks.runtime import Runtime, build_runtime

KEY = "sk_test_mamamboga0000000000000001"
OLD_KEY = "sk_test_mamamboga_old_key_0000000"
CHAT = 5001

# Reference B.3.3, byte for byte as documented.
DOCUMENTED_CHARGE_SUCCESS = b"""{
  "event": "charge.success",
  "data": {
    "id": 302961,
    "domain": "live",
    "status": "success",
    "reference": "qTPrJoy9Bx",
    "amount": 10000,
    "message": null,
    "gateway_response": "Approved by Financial Institution",
    "paid_at": "2016-09-30T21:10:19.000Z",
    "created_at": "2016-09-30T21:09:56.000Z",
    "channel": "card",
    "currency": "NGN",
    "ip_address": "41.242.49.37",
    "metadata": 0,
    "log": { "time_spent": 16, "attempts": 1, "authentication": "pin", "errors": 0, "success": false, "mobile": false, "input": [], "channel": null, "history": [] },
    "fees": null,
    "customer": { "id": 68324, "first_name": "BoJack", "last_name": "Horseman", "email": "bojack@horseman.com", "customer_code": "CUS_qo38as2hpsgk2r0", "phone": null, "metadata": null, "risk_action": "default" },
    "authorization": { "authorization_code": "AUTH_f5rnfq9p", "bin": "539999", "last4": "8877", "exp_month": "08", "exp_year": "2020", "card_type": "mastercard DEBIT", "bank": "Guaranty Trust Bank", "country_code": "NG", "brand": "mastercard", "account_name": "BoJack Horseman" },
    "plan": {}
  }
}"""  # noqa: E501


@dataclass
class Rig:
    database: Database
    vault: Vault
    clock: FakeClock
    sim: PaystackSimulator
    sim_url: str
    runtime: Runtime
    base_url: str
    shop: Shop
    http: aiohttp.ClientSession

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/pay/paystack/{self.shop.slug}"

    async def configure(self, options: dict[str, Any] | None = None, key: str = KEY, test_mode: bool = False) -> None:
        async with self.database.uow() as uow:
            config = await uow.session.scalar(
                select(ProviderConfig).where(
                    ProviderConfig.tenant_id == self.shop.tenant_id, ProviderConfig.provider == "paystack"
                )
            )
            if config is None:
                config = ProviderConfig(tenant_id=self.shop.tenant_id, provider="paystack", enabled=True)
                uow.session.add(config)
            config.secrets_enc = self.vault.encrypt_json({"secret_key": key})
            config.options = {"base_url": self.sim_url, **(options or {})}
            config.updated_at = self.clock.now()
            await uow.session.execute(
                update(Tenant).where(Tenant.id == self.shop.tenant_id).values(test_mode=test_mode)
            )
            await uow.commit()

    async def open(self, minor: int = 42000, currency: str = "KES", email: str | None = None) -> int:
        """A placed order of ``minor`` with a ``created`` Paystack attempt, as the chat leaves it; its payment id."""
        now = self.clock.now()
        async with self.database.uow() as uow:
            customer = await uow.session.scalar(
                select(Customer).where(Customer.tenant_id == self.shop.tenant_id, Customer.tg_user_id == CHAT)
            )
            if customer is None:
                customer = Customer(
                    tenant_id=self.shop.tenant_id, tg_user_id=CHAT, chat_id=CHAT, display_name="Wanjiru", created_at=now
                )
                uow.session.add(customer)
            customer.email = email
            await uow.session.flush()
            count = await uow.session.scalar(select(func.count()).select_from(Order))
            order = Order(
                tenant_id=self.shop.tenant_id,
                customer_id=customer.id,
                code=f"PS{(count or 0) + 1:04d}",
                status="awaiting_payment",
                total_minor=minor,
                currency=currency,
                contact_name="Wanjiru Kamau",
                contact_phone="+254712345678",
                delivery_method="pickup",
                created_at=now,
                updated_at=now,
            )
            uow.session.add(order)
            await uow.session.flush()
            payment = await open_payment(
                uow.session,
                order,
                "paystack",
                PaymentStatus.CREATED,
                now,
                expires_at=now + timedelta(minutes=30),
                callback_token=f"tok{order.id:037d}",
            )
            assert payment is not None
            await queue_start(uow.session, payment, CHAT, Message("⏳"), now)  # as pressing "Pay" does
            await uow.commit()
            return payment.id

    async def start(self, minor: int = 42000, currency: str = "KES", email: str | None = None) -> Payment:
        payment_id = await self.open(minor, currency, email)
        await self.runtime.jobs.run_once()  # the payment job worker starts it
        return await self.payment(payment_id)

    async def payment(self, payment_id: int) -> Payment:
        async with self.database.uow() as uow:
            payment = await uow.session.get(Payment, payment_id)
        assert payment is not None
        return payment

    async def payments(self, order_id: int) -> list[Payment]:
        async with self.database.uow() as uow:
            return list(
                await uow.session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id))
            )

    async def order(self, payment: Payment) -> Order:
        async with self.database.uow() as uow:
            order = await uow.session.get(Order, payment.order_id)
        assert order is not None
        return order

    async def messages(self, chat: int = CHAT) -> list[dict[str, Any]]:
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
            )
            return [row.payload for row in rows]

    async def texts(self, chat: int = CHAT) -> list[str]:
        return [str(payload.get("text", "")) for payload in await self.messages(chat)]

    async def events(self) -> list[PaymentEvent]:
        async with self.database.uow() as uow:
            return list(await uow.session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)))

    async def post(self, body: bytes, signature: str | None) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        async with self.http.post(self.webhook_url, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base_url + path) as response:
            return response.status, await response.text()

    async def pay(self, payment: Payment, outcome: str = "success", **kwargs: Any) -> None:
        await self.sim.pay(payment.reference, outcome, **kwargs)
        await self.sim.drain()


def _listener() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.setblocking(False)
    return listener


@asynccontextmanager
async def paystack_rig(
    database: Database, vault: Vault, clock: FakeClock, data_dir: Path, *, copies: int = 1
) -> AsyncIterator[Rig]:
    sim = PaystackSimulator(clock=clock, retry=RetryPolicy.none(), duplicate_deliveries=copies, refund_delay=0)
    async with serve(sim) as sim_url:
        shop = await seed_shop(database, vault, clock)
        listener = _listener()
        base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        no_env_file: dict[str, Any] = {"_env_file": None}  # only what is given here: no .env from the machine
        settings = Settings(
            **no_env_file,
            data_dir=data_dir,
            database_url=database.url,
            telegram_api="http://127.0.0.1:9",
            public_url=base_url,
            secret_keys=VAULT_KEY,
        )
        runtime = build_runtime(settings, clock=clock)
        runner = web.AppRunner(build_app(runtime, workers=False))
        await runner.setup()
        await web.SockSite(runner, listener).start()
        sim.add_merchant(KEY, webhook_url=f"{base_url}/pay/paystack/{shop.slug}")
        async with aiohttp.ClientSession() as http:
            rig = Rig(database, vault, clock, sim, sim_url, runtime, base_url, shop, http)
            await rig.configure()
            try:
                yield rig
            finally:
                await sim.close()
                await runner.cleanup()
                await runtime.close()


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with paystack_rig(database, vault, clock, tmp_path) as running:
        yield running


# --- starting ----------------------------------------------------------------------------------------------


async def test_a_link_is_a_new_transaction_with_the_payments_reference(rig: Rig) -> None:
    await rig.configure({"channels": "card,mobile_money"})
    payment = await rig.start(42000)
    order = await rig.order(payment)

    txn = rig.sim.transaction(payment.reference)
    assert (txn.amount, txn.currency, txn.reference) == (42000, "KES", payment.reference)
    assert txn.email == f"tg{CHAT}@example.com"  # stable and synthetic: the customer gave none
    assert txn.callback_url == f"{rig.base_url}/pay/paystack/{rig.shop.slug}/return"
    assert txn.channels == ["card", "mobile_money"]
    assert {k: txn.metadata[k] for k in ("tenant", "order", "chat")} == {
        "tenant": rig.shop.slug,
        "order": order.code,
        "chat": str(CHAT),
    }
    assert payment.status == PaymentStatus.PENDING and payment.provider_ref == txn.access_code
    assert (utc(payment.expires_at), utc(payment.next_check_at)) == (
        rig.clock.now() + timedelta(minutes=30),
        rig.clock.now() + timedelta(minutes=1),
    )

    sending, started = await rig.messages()
    assert sending["text"] == "⏳" and started["replaces"] == f"started:{payment.id}"  # the link takes its place
    assert f"To pay KES 420 for order {order.code}" in started["text"]
    assert "TEST MODE" in started["text"] and "4084 0840 8408 4081" in started["text"]  # an sk_test_ key
    # The page shows the synthetic address: the message says what it is.
    assert started["text"].endswith(
        f"Paystack's page needs an email address: it shows tg{CHAT}@example.com, a stand-in, because this shop does "
        "not ask for yours."
    )
    assert started["buttons"] == [[{"text": "💳 Pay now", "url": f"{rig.sim_url}/checkout/{txn.access_code}"}]]

    # A second attempt is a second transaction, with its own reference; a real email is used when given.
    again = await rig.start(42000, email="wanjiru@mail.example")
    assert again.reference != payment.reference
    assert rig.sim.transaction(again.reference).email == "wanjiru@mail.example"
    assert "stand-in" not in (await rig.messages())[-1]["text"]  # a real address needs no word


@pytest.mark.parametrize(
    ("minor", "currency", "words"),
    [(200, "KES", "below Paystack's minimum"), (1_000_000_001, "KES", "above Paystack's limit")],
)
async def test_amounts_outside_paystacks_limits_are_refused_before_any_call(
    rig: Rig, minor: int, currency: str, words: str
) -> None:
    payment = await rig.start(minor, currency)
    assert payment.status == PaymentStatus.FAILED and payment.reason is not None and words in payment.reason
    assert rig.sim.transactions == []
    assert "did not go through" in (await rig.texts())[-1]


async def _press_pay_online(rig: Rig, order_id: int) -> Reply:
    """The customer presses "Pay online" in the order's payment menu (again), as the chat hands it to the flow."""
    async with rig.database.uow() as uow:
        tenant = await uow.session.get(Tenant, rig.shop.tenant_id)
        assert tenant is not None and paystack.INFO.button_code is not None
        ctx = await router.open_context(
            uow.session, tenant, Actor(CHAT, CHAT, "Wanjiru"), rig.clock, frozenset({"manual", "paystack"})
        )
        reply = await router.handle(ctx, Inbound.pressed(PayWith(order_id, paystack.INFO.button_code).pack()))
        await uow.commit()
    return reply


async def test_asking_again_for_a_link_says_the_new_one_replaces_it_not_that_another_way_was_chosen(rig: Rig) -> None:
    rig.sim.fail_next(408, path_prefix="/transaction/initialize")  # the start gets no answer: no link to show
    lost = await rig.start()
    assert (lost.status, lost.provider_ref) == (PaymentStatus.PENDING, None)

    again = await _press_pay_online(rig, lost.order_id)
    assert again.start_payment is not None and not again.refused
    replaced = await rig.payment(lost.id)
    words = "Paystack had not sent its link yet when you asked for a new one, which takes its place"
    assert (replaced.status, replaced.reason) == (PaymentStatus.CANCELLED, words)
    *_, told, preparing = await rig.texts()  # the earlier attempt's end, then the new link on its way
    assert told.endswith(f"was cancelled.\nReason: {words}") and "another way to pay" not in told
    assert preparing.startswith("⏳ Preparing your Paystack payment link for KES 420")

    # The new attempt starts and shows its link; asking once more replaces that link, in words for a link.
    await rig.runtime.jobs.run_once()
    linked = await rig.payment(again.start_payment)
    assert linked.status == PaymentStatus.PENDING and linked.provider_ref is not None
    third = await _press_pay_online(rig, lost.order_id)
    assert third.start_payment is not None
    replaced = await rig.payment(linked.id)
    assert (replaced.status, replaced.reason) == (
        PaymentStatus.CANCELLED,
        "you asked for a new payment link, which takes its place",
    )
    assert [p.status for p in (await rig.payments(lost.order_id))] == ["cancelled", "cancelled", "created"]


# --- webhooks ----------------------------------------------------------------------------------------------


async def test_paid_once_although_the_webhook_comes_ten_times_some_at_once(
    database: Database, vault: Vault, clock: FakeClock, tmp_path: Path
) -> None:
    async with paystack_rig(database, vault, clock, tmp_path, copies=10) as rig:
        payment = await rig.start()
        await rig.pay(payment, channel="mobile_money")
        deliveries = [d for d in rig.sim.deliveries if d.event == "charge.success"]
        assert len(deliveries) == 10 and {d.status for d in deliveries} == {200}

        paid = await rig.payment(payment.id)
        txn = rig.sim.transaction(payment.reference)
        assert paid.status == PaymentStatus.PAID and paid.paid_minor == 42000 and paid.provider_txn_id == str(txn.id)
        assert (await rig.order(paid)).status == "paid"
        receipts = [t for t in await rig.texts() if "Payment received" in t]
        assert len(receipts) == 1
        assert "Amount: KES 420" in receipts[0] and "Paystack (mobile money)" in receipts[0]
        assert f"Reference: {txn.id}" in receipts[0]
        charge = [e for e in await rig.events() if e.event_key == f"charge.success:{payment.reference}"]
        assert len(charge) == 1 and charge[0].result == "applied"
        assert len([t for t in await rig.texts(rig.shop.admin_id) if "is paid" in t]) == 1


async def test_the_documented_charge_success_sample_is_accepted_when_signed(rig: Rig) -> None:
    payment_id = await rig.open(10000, "NGN")
    async with rig.database.uow() as uow:  # the sample's reference is this payment's
        await uow.session.execute(update(Payment).where(Payment.id == payment_id).values(reference="qTPrJoy9Bx"))
        await uow.commit()
    await rig.runtime.jobs.run_once()
    rig.sim.set_webhook_url(KEY, None)  # the simulator's own webhook stays home: the documented body comes instead
    await rig.pay(await rig.payment(payment_id))

    status, _ = await rig.post(DOCUMENTED_CHARGE_SUCCESS, sign(DOCUMENTED_CHARGE_SUCCESS, KEY))
    assert status == 200
    paid = await rig.payment(payment_id)
    assert paid.status == PaymentStatus.PAID and paid.paid_minor == 10000
    assert "Paystack (card)" in (await rig.texts())[-1]


async def test_forged_missing_and_stale_signatures_are_refused_and_change_nothing(rig: Rig) -> None:
    payment = await rig.start()
    rig.sim.set_webhook_url(KEY, None)
    await rig.pay(payment)
    (event,) = [e for e in rig.sim.events if e.event == "charge.success"]
    before = (await rig.events(), await rig.texts())

    assert (await rig.post(event.body, None))[0] == 401
    assert (await rig.post(event.body, sign(event.body, "sk_test_someone_else")))[0] == 401
    assert (await rig.post(event.body, "0" * 128))[0] == 401
    tampered = event.body.replace(b'"amount":42000', b'"amount":4200')
    assert (await rig.post(tampered, event.signature))[0] == 401
    await rig.configure(key=KEY.replace("0001", "0002"))  # the merchant rolled the key: the old one signs no more
    assert (await rig.post(event.body, sign(event.body, KEY)))[0] == 401

    assert (await rig.payment(payment.id)).status == PaymentStatus.PENDING
    after = (await rig.events(), await rig.texts())
    assert [e.id for e in after[0]] == [e.id for e in before[0]] and after[1] == before[1]
    assert (await rig.post(b"x" * (70 * 1024), event.signature))[0] == 413


async def test_an_amount_that_differs_from_the_order_goes_to_review(rig: Rig) -> None:
    payment = await rig.start(42000)
    rig.sim.transaction(payment.reference).amount = 30000  # Paystack collected less than the order
    await rig.pay(payment)
    flagged = await rig.payment(payment.id)
    assert flagged.status == PaymentStatus.NEEDS_REVIEW and flagged.reason is not None
    assert "KES 420" in flagged.reason and "KES 300" in flagged.reason
    assert not [t for t in await rig.texts() if "Payment received" in t]
    assert any("needs a check by the shop" in t for t in await rig.texts())
    assert any("KES 300" in t for t in await rig.texts(rig.shop.admin_id))


async def test_a_webhook_that_verify_contradicts_goes_to_review(rig: Rig) -> None:
    payment = await rig.start(42000)
    rig.sim.set_webhook_url(KEY, None)
    await rig.pay(payment)
    (event,) = [e for e in rig.sim.events if e.event == "charge.success"]
    doctored = json.loads(event.body)
    doctored["data"]["currency"] = "NGN"  # signed correctly, but Verify says KES
    body = json.dumps(doctored).encode()
    assert (await rig.post(body, sign(body, KEY)))[0] == 200
    flagged = await rig.payment(payment.id)
    assert flagged.status == PaymentStatus.NEEDS_REVIEW
    assert flagged.reason is not None and "Verify says KES 420" in flagged.reason
    assert (await rig.order(flagged)).status == "needs_review"


async def test_events_we_do_not_act_on_are_answered_and_recorded_once(rig: Rig) -> None:
    body = json.dumps({"event": "transfer.success", "data": {"reference": "TRF_1x2y3z", "amount": 5000}}).encode()
    for _ in range(3):
        assert (await rig.post(body, sign(body, KEY)))[0] == 200
    (recorded,) = await rig.events()
    assert recorded.event_key == "transfer.success:TRF_1x2y3z" and recorded.payment_id is None
    assert recorded.raw["event"] == "transfer.success"
    assert (await rig.post(b"not json", sign(b"not json", KEY)))[0] == 400
    async with rig.http.post(f"{rig.base_url}/pay/paystack/nobody", data=body) as response:
        assert response.status == 404


# --- reconciliation ----------------------------------------------------------------------------------------


async def test_an_abandoned_link_is_verified_then_expires_and_the_customer_is_told(rig: Rig) -> None:
    payment = await rig.start()
    await rig.pay(payment, "abandoned")  # no webhook: Paystack sends none for this
    rig.clock.advance(minutes=1)
    await rig.runtime.reconciler.run_once()
    checked = await rig.payment(payment.id)
    assert checked.status == PaymentStatus.PENDING and checked.checks == 1  # still payable until the timeout
    rig.clock.advance(minutes=30)
    await rig.runtime.reconciler.run_once()
    expired = await rig.payment(payment.id)
    assert expired.status == PaymentStatus.EXPIRED
    last = (await rig.messages())[-1]
    assert "timed out" in last["text"] and last["buttons"][0][0]["text"] == "🔁 Pay again"
    assert last["replaces"] == f"started:{payment.id}"  # in the chat, it takes the place of the link


async def test_a_failed_payment_is_found_by_verify(rig: Rig) -> None:
    payment = await rig.start()
    await rig.pay(payment, "failed", gateway_response="Insufficient Funds")
    rig.clock.advance(minutes=1)
    await rig.runtime.reconciler.run_once()
    failed = await rig.payment(payment.id)
    assert failed.status == PaymentStatus.FAILED
    assert "did not go through" in (await rig.texts())[-1] and "Insufficient Funds" in (await rig.texts())[-1]
    assert (await rig.messages())[-1]["replaces"] == f"started:{payment.id}"


async def test_a_success_that_only_verify_knows_is_paid_by_the_reconciler(rig: Rig) -> None:
    payment = await rig.start()
    rig.sim.set_webhook_url(KEY, None)  # the webhook is lost
    await rig.pay(payment)
    rig.clock.advance(minutes=1)
    await rig.runtime.reconciler.run_once()
    assert (await rig.payment(payment.id)).status == PaymentStatus.PAID
    assert len([t for t in await rig.texts() if "Payment received" in t]) == 1


# --- the return page ---------------------------------------------------------------------------------------


async def test_the_return_page_says_what_happened_and_marks_nothing_paid(rig: Rig) -> None:
    async with rig.database.uow() as uow:
        await uow.session.execute(
            update(Tenant)
            .where(Tenant.id == rig.shop.tenant_id)
            .values(name="Mama <b>Mboga</b>", bot_username="mama_bot")
        )
        await uow.commit()
    payment = await rig.start()
    path = f"/pay/paystack/{rig.shop.slug}/return?trxref={payment.reference}&reference={payment.reference}"
    rig.clock.advance(seconds=5)
    status, page = await rig.get(path)
    assert status == 200 and "Confirming your payment" in page
    assert "Mama &lt;b&gt;Mboga&lt;/b&gt;" in page and "<b>Mboga" not in page  # autoescaped
    assert 'href="https://t.me/mama_bot"' in page
    checked = await rig.payment(payment.id)
    assert (
        checked.status == PaymentStatus.PENDING
        and checked.next_check_at is not None
        and utc(checked.next_check_at) == rig.clock.now()
    )  # asked about soon

    rig.sim.set_webhook_url(KEY, None)
    await rig.pay(payment)
    status, page = await rig.get(path)
    assert "Confirming your payment" in page  # the visit proves nothing; Verify does
    await rig.runtime.reconciler.run_once()
    status, page = await rig.get(path)
    assert status == 200 and "Payment received" in page and "TEST MODE" not in page

    assert (await rig.get(f"/pay/paystack/{rig.shop.slug}/return?reference=dk0000"))[0] == 404
    assert (await rig.get("/pay/paystack/nobody/return?reference=x"))[0] == 404


# --- the whole journey in the chat -------------------------------------------------------------------------


async def test_the_customer_pays_online_through_the_chat(database: Database, vault: Vault, tmp_path: Path) -> None:
    sim = PaystackSimulator(retry=RetryPolicy.none())
    async with serve(sim) as sim_url, shop_server(database, vault, tmp_path, webhooks=True) as server:
        shop = await server.add_shop()
        async with database.uow() as uow:
            await shops.set_provider(
                uow.session, vault, shop.slug, "paystack", {"secret_key": KEY}, {"base_url": sim_url}, FakeClock().now()
            )
            await uow.commit()
        await server.start()
        sim.add_merchant(KEY, webhook_url=f"{server.base_url}/pay/paystack/{shop.slug}")
        customer: Person = server.person(shop, 5001, "Wanjiru")
        code = await place_order(customer)
        await customer.tap("💳 Pay online")
        await server.settle()
        link = customer.find(f"To pay KES 420 for order {code}")
        ((button,),) = link.buttons
        assert button[0] == "💳 Pay now"

        # The customer pays on the checkout page (the simulator's, like Paystack's), and comes back.
        (txn,) = sim.transactions
        pay_url = button[1]
        assert pay_url == f"{sim_url}/checkout/{txn.access_code}"
        async with (
            aiohttp.ClientSession() as browser,
            browser.post(pay_url, data={"action": "success"}, allow_redirects=False) as response,
        ):
            back = response.headers.get("Location")
        await sim.drain()
        await server.settle()
        receipt = customer.find("Payment received")
        assert f"Order: {code}" in receipt.content and "Amount: KES 420" in receipt.content
        assert "Paystack (card)" in receipt.content
        # The receipt took the place of the link message: no spent "Pay now" link is left in the chat.
        assert receipt.message_id == link.message_id and receipt.edit_date is not None
        assert [[label for label, _ in row] for row in receipt.buttons] == [["📄 Receipt (PDF)"]]  # no "Pay now"
        assert customer.count(f"To pay KES 420 for order {code}") == 0
        assert customer.count("Payment received") == 1
        assert back is not None and back.startswith(f"{server.base_url}/pay/paystack/{shop.slug}/return")
        async with aiohttp.ClientSession() as browser, browser.get(back) as response:
            assert response.status == 200 and "Payment received" in await response.text()
        await sim.close()
