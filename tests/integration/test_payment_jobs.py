"""Payments start in a job worker, never inside the Telegram update: the real server (``tests.support.app``) with the
fake Bot API, or the M-Pesa rig, and the Daraja simulator as a real server, reached through a network that a test
can hold, lose answers on, or break (``Network``).

What each test shows: the press is answered before Daraja is called; a crash between the press and the worker still
pushes once; a push that got no answer is never pushed again; an unexpected failure ends the attempt failed with the
customer told at once, with a way forward."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

import flows.router  # noqa: F401 (binds every customer button, M-Pesa's included)
from admin import shops
from core.clock import FakeClock, SystemClock
from core.db.engine import Database
from core.db.tables import Conversation, Customer, Order, Payment, PaymentJob, Tenant
from core.vault import Vault
from flows import buttons
from flows.context import FlowContext, Reply
from payments.jobs import JobStatus, JobWorker, claim_due
from payments.mpesa.buttons import SendPush
from payments.starter import START
from payments.states import PaymentStatus
from sandbox.mpesa.models import HOLD
from sandbox.mpesa.server import SimulatorServer
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, DarajaSimulator
from tests.integration.test_mpesa_checkout_kit import CUSTOMER, METHODS, PHONE, Rig, mpesa_rig, texts
from tests.support.app import WAIT, Person, ShopServer, place_order, shop_server, until

PUSH_PATH = "/mpesa/stkpush/v1/processrequest"


class Network(httpx.AsyncBaseTransport):
    """The real network to the simulator, but for STK pushes: ``hold`` keeps the first push until ``release`` is set;
    ``lose_answers`` lets the push reach Daraja and loses its answer (a read timeout); ``fail_with`` raises that
    instead of sending anything."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.hold = False
        self.release = asyncio.Event()
        self.holding = asyncio.Event()
        self.lose_answers = False
        self.fail_with: Exception | None = None
        self.pushes_sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != PUSH_PATH:
            return await self.inner.handle_async_request(request)
        if self.fail_with is not None:
            raise self.fail_with
        if self.hold and not self.holding.is_set():  # the first push hangs; later ones go through
            self.holding.set()
            await self.release.wait()
        response = await self.inner.handle_async_request(request)
        self.pushes_sent += 1
        if self.lose_answers:
            await response.aread()
            raise httpx.ReadTimeout("no answer in time", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=False) as running:  # polling: one loop per shop
        yield running


@pytest.fixture
async def daraja() -> AsyncIterator[tuple[DarajaSimulator, str]]:
    sim = DarajaSimulator(seed=5)
    sim.add_app("app-key", "app-secret")
    async with SimulatorServer(sim) as served:
        yield sim, served.url
        await sim.settle()


async def mpesa_shop(server: ShopServer, database: Database, daraja_url: str, network: Network) -> Person:
    """A shop with M-Pesa, served by polling through ``network``; its customer, with a placed order of KES 420."""
    shop = await server.add_shop()
    async with database.uow() as uow:
        await shops.set_provider(
            uow.session,
            server.vault,
            shop.slug,
            "mpesa",
            {"consumer_key": "app-key", "consumer_secret": "app-secret", "passkey": SANDBOX_PASSKEY},
            # A live shop takes callbacks from Safaricom's addresses only; the simulator calls from this machine.
            {"shortcode": "174379", "base_url": daraja_url, "ip_allowlist": "127.0.0.1"},
            SystemClock().now(),
        )
        await uow.commit()
    server.provider_http = httpx.AsyncClient(transport=network)
    await server.start()
    customer = server.person(shop, 5001, "Wanjiru")
    await place_order(customer, phone="0708 374 149")
    await customer.tap("📱 M-Pesa")
    return customer


async def jobs(database: Database) -> list[tuple[str, str, int]]:
    async with database.uow() as uow:
        rows = await uow.session.scalars(select(PaymentJob).order_by(PaymentJob.id))
        return [(row.kind, row.status, row.attempts) for row in rows]


async def test_pay_is_answered_before_daraja_is_called_and_the_answer_edits_that_message(
    server: ShopServer, database: Database, daraja: tuple[DarajaSimulator, str]
) -> None:
    sim, url = daraja
    sim.set_outcome(PHONE, HOLD)  # the customer has not entered the PIN yet
    network = Network()
    network.hold = True  # Daraja is slow: the first push hangs until the test lets it through
    customer = await mpesa_shop(server, database, url, network)

    # The press is handled (the update confirmed to Telegram) while the push is still held.
    await customer.tap("✅ Yes, send to 0708 374 149")
    await asyncio.wait_for(network.holding.wait(), WAIT)
    await until(lambda: customer.count("Sending the M-Pesa payment prompt") == 1, "the sending message")
    sending = customer.find("⏳ Sending the M-Pesa payment prompt to 0708 374 149 for KES 420")
    assert sim.transactions == {} and network.pushes_sent == 0
    # The shop is not stalled: another customer is served meanwhile, on the same polling loop, and pays.
    other = server.person(customer.shop, 5002, "Otieno")
    await place_order(other, name="Otieno Ouma", phone="0712 345 678")
    await other.tap("📱 M-Pesa")
    await other.tap("✅ Yes, send to 0712 345 678")
    await until(lambda: other.count("Payment received") == 1, "the other customer's receipt")
    assert network.pushes_sent == 1 and customer.count("The M-Pesa request for KES 420") == 0

    network.release.set()
    await server.settle()
    (txn,) = [txn for txn in sim.transactions.values() if txn.phone == PHONE]
    answer = customer.find("The M-Pesa request for KES 420")
    assert answer.message_id == sending.message_id and answer.edit_date is not None  # "sending…" turned into it
    assert customer.count("Sending the M-Pesa payment prompt") == 0
    assert [text for row in answer.buttons for text, _ in row] == ["🔄 Check status"]

    await sim.complete(txn.checkout_request_id, 0)
    await sim.settle()
    await server.settle()
    receipt = customer.find("Payment received")
    assert receipt.message_id == sending.message_id and f"M-Pesa receipt: {txn.receipt}" in receipt.content
    assert await jobs(database) == [("payment.start", JobStatus.DONE, 1)] * 2


async def test_an_unexpected_failure_fails_the_attempt_and_tells_the_customer_at_once(
    server: ShopServer, database: Database, daraja: tuple[DarajaSimulator, str]
) -> None:
    sim, url = daraja
    network = Network()
    network.fail_with = RuntimeError("a bug far from home")  # not a refusal by Daraja: something nobody expected
    customer = await mpesa_shop(server, database, url, network)

    await customer.tap("✅ Yes, send to 0708 374 149")
    await server.settle()

    (error,) = server.errors.take()
    assert error.startswith("payments.jobs: payment job 1 (payment.start) failed unexpectedly")
    async with database.uow() as uow:
        (payment,) = await uow.session.scalars(select(Payment))
        order = await uow.session.get(Order, payment.order_id)
        assert order is not None
    told = customer.find("did not go through")
    assert told.content == (
        f"❌ The M-Pesa payment for order {order.code} (KES 420) did not go through: something went wrong on our "
        "side while sending the request.\nYou can try again, or pay by Paybill from the M-Pesa menu."
    )
    assert [text for row in told.buttons for text, _ in row] == [
        "🔁 Try again",
        "🏦 Pay by Paybill",
        "💳 Other ways to pay",
    ]
    assert customer.count("Sending the M-Pesa payment prompt") == 0  # the failure took the place of "sending…"
    assert (payment.status, payment.reason) == (
        PaymentStatus.FAILED,
        "something went wrong on our side while starting the payment",
    )
    assert await jobs(database) == [("payment.start", JobStatus.FAILED, 1)]
    assert sim.transactions == {} and network.pushes_sent == 0


# --- the M-Pesa rig: a fake clock, and the worker run by the test ---------------------------------------------------


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
async def rig(
    database: Database, vault: Vault, clock: FakeClock, tmp_path: Path, network: Network
) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path, http=httpx.AsyncClient(transport=network)) as running:
        await running.seed()
        yield running


async def test_a_crash_between_the_press_and_the_worker_still_pushes_once(rig: Rig, database: Database) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    rig.run_jobs = False  # the process dies right after the press's commit: no worker ran
    placed = await rig.place_order()
    proposal = await rig.press(placed, "M-Pesa")
    sent = await rig.press(proposal, "Yes, send to")
    assert "Sending the M-Pesa payment prompt to 0708 374 149" in texts(sent)
    assert rig.sim.transactions == {} and (await rig.payment()).status == PaymentStatus.CREATED

    # A new process: its worker finds the job the press committed.
    assert await rig.runtime.jobs.run_once() == 1
    assert await rig.runtime.jobs.run_once() == 0
    (txn,) = rig.sim.transactions.values()
    payment = await rig.payment()
    assert (payment.status, payment.provider_ref) == (PaymentStatus.PENDING, txn.checkout_request_id)
    assert await jobs(database) == [("payment.start", JobStatus.DONE, 1)]


async def test_a_worker_that_died_during_the_push_never_pushes_again(
    rig: Rig, database: Database, network: Network
) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    rig.run_jobs = False
    await rig.checkout()
    async with database.uow() as uow:  # a worker claims the job, calls Daraja... and its process dies there
        assert len(await claim_due(uow.session, rig.clock.now(), 10, timedelta(seconds=120))) == 1
        await uow.commit()
    assert await rig.runtime.jobs.run_once() == 0  # its lease holds: nobody else takes it meanwhile

    rig.clock.advance(seconds=121)  # the lease runs out
    assert await rig.runtime.jobs.run_once() == 1
    assert network.pushes_sent == 0 and rig.sim.transactions == {}  # in doubt: not sent again
    payment = await rig.payment()
    assert (payment.status, payment.provider_ref) == (PaymentStatus.PENDING, None)
    unconfirmed = (await rig.to_customer())[-1]
    assert unconfirmed.text.startswith("The payment request for order") and unconfirmed.key.endswith(":answer")
    assert await jobs(database) == [("payment.start", JobStatus.DONE, 2)]


async def test_a_push_that_got_no_answer_is_never_pushed_again_and_its_callback_settles_it(
    rig: Rig, database: Database, network: Network
) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    network.lose_answers = True  # Daraja takes the push (the phone rings) but its answer never comes back
    await rig.checkout()
    (txn,) = rig.sim.transactions.values()
    payment = await rig.payment()
    assert (payment.status, payment.provider_ref) == (PaymentStatus.PENDING, None)
    unconfirmed = (await rig.to_customer())[-1]
    assert "was sent, but the provider did not confirm it in time" in unconfirmed.text
    assert unconfirmed.buttons == [("🔄 Check status", f"mpstat.1:{payment.order_id}")]

    # Nothing sends it again: not the worker, not the reconciler, not "Try again".
    await rig.runtime.jobs.run_once()
    for _ in range(3):
        rig.clock.advance(seconds=20)
        await rig.runtime.reconciler.run_once()
    again = await rig.tap(f"mpretry.1:{payment.order_id}")
    assert again.notice is not None and "is still on your phone 0708 374 149" in again.notice
    assert network.pushes_sent == 1 and len(rig.sim.transactions) == 1

    await rig.sim.complete(txn.checkout_request_id, 0)  # the customer entered the PIN: the callback settles it
    paid = await rig.payment()
    assert (paid.status, paid.provider_txn_id) == (PaymentStatus.PAID, txn.receipt)


# --- one open attempt per order, held by the database ---------------------------------------------------------------


async def test_twenty_presses_at_once_from_outside_the_chat_push_once(rig: Rig, database: Database) -> None:
    """Twenty transactions, each with its own connection, all open before any of them presses "Yes, send to": no
    conversation lock serialises them (the conversation row is read, not locked). Only PostgreSQL runs them truly at
    once; SQLite queues writers, so the race only exists there."""
    if database.dialect != "postgresql":
        pytest.skip("a race between connections: PostgreSQL only")
    rig.sim.set_outcome(PHONE, HOLD)
    rig.run_jobs = False
    placed = await rig.place_order()
    await rig.press(placed, "M-Pesa")
    order = await rig.order()
    presses = 20
    everyone_in = asyncio.Barrier(presses)
    wide = Database(database.url, pool_size=presses + 2)

    async def press() -> Reply:
        async with wide.uow() as uow:
            tenant = await uow.session.get(Tenant, rig.tenant_id)
            customer = await uow.session.get(Customer, order.customer_id)
            conversation = await uow.session.scalar(
                select(Conversation).where(Conversation.tenant_id == rig.tenant_id, Conversation.chat_id == 5001)
            )
            assert tenant is not None and customer is not None and conversation is not None
            ctx = FlowContext(uow.session, tenant, CUSTOMER, customer, conversation, rig.clock, METHODS)
            await everyone_in.wait()  # twenty open transactions, none of which has looked for an attempt yet
            reply = await buttons.CUSTOMER.dispatch(ctx, SendPush(order.id).pack(), buttons.refuse)
            await uow.commit()
            return reply

    try:
        replies = await asyncio.gather(*(press() for _ in range(presses)))
    finally:
        await wide.dispose()

    assert sum(reply.start_payment is not None for reply in replies) == 1
    # The others are told in a toast: one push, one "📲" message in the chat.
    assert [(r.messages, r.notice) for r in replies if r.start_payment is None] == [
        (
            [],
            f"The M-Pesa request for order {order.code} is still on your phone 0708 374 149: "
            "enter your PIN there, or wait for its result.",
        )
    ] * (presses - 1)
    (payment,) = await rig.payments()
    assert payment.status == PaymentStatus.CREATED
    # Two workers at once, as two processes would run them: the one job is claimed once.
    other = JobWorker(rig.database, rig.clock, {START: rig.runtime.starter})
    assert sorted(await asyncio.gather(rig.runtime.jobs.run_once(), other.run_once())) == [0, 1]
    pushes = [request for request in rig.sim.requests if request.path == PUSH_PATH]
    assert len(pushes) == 1  # exactly one STK push reached Daraja (it would refuse more within a minute, too)
    (txn,) = rig.sim.transactions.values()
    assert (await rig.payment()).provider_ref == txn.checkout_request_id
    assert await jobs(database) == [("payment.start", JobStatus.DONE, 1)]


async def test_choosing_again_supersedes_an_open_paybill_wait_but_never_an_open_push(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    placed = await rig.place_order()
    proposal = await rig.press(placed, "M-Pesa")
    order = await rig.order()
    paybill = await rig.tap(f"mppb.1:{order.id}")
    assert "174379" in texts(paybill)
    (waiting,) = await rig.payments()
    assert (waiting.status, waiting.callback_token) == (PaymentStatus.PENDING, None)

    # The customer changes their mind: the push replaces the Paybill wait (one open attempt per order).
    sent = await rig.press(proposal, "Yes, send to")
    assert "Sending the M-Pesa payment prompt to 0708 374 149" in texts(sent)
    cancelled, push = await rig.payments()
    assert (cancelled.status, cancelled.reason) == (PaymentStatus.CANCELLED, "you chose another way to pay")
    told = next(m for m in await rig.to_customer() if m.key == f"payment:{cancelled.id}:cancelled")
    assert told.text.startswith(
        f"❌ The M-Pesa payment for order {order.code} (KES 420) was cancelled: you chose another way to pay."
    )
    assert push.status == PaymentStatus.PENDING and len(rig.sim.transactions) == 1

    # With the prompt on the phone, no other way to pay is opened on top of it.
    manual = await rig.tap(f"pm.1:{order.id}:1")
    assert texts(manual) == (
        f"📲 A payment request for order {order.code} is still open on your phone. Approve it there to pay, or "
        "cancel it on the phone; once it has ended you can choose another way to pay."
    )
    assert manual.refused and [p.status for p in await rig.payments()] == ["cancelled", "pending"]

    # The customer enters the PIN: the push pays the order.
    (txn,) = rig.sim.transactions.values()
    await rig.sim.complete(txn.checkout_request_id, 0)
    assert [p.status for p in await rig.payments()] == ["cancelled", "paid"]


async def test_a_push_daraja_refused_as_busy_is_tried_again_then_given_up_in_plain_words(
    rig: Rig, database: Database
) -> None:
    rig.sim.set_outcome(PHONE, HOLD)
    rig.sim.inject_error("stk_push", times=1)  # Spike Arrest: Daraja answered, and took nothing
    await rig.checkout()
    assert (await rig.payment()).status == PaymentStatus.CREATED  # still "sending…": the job waits, then again
    assert await rig.runtime.jobs.run_once() == 0
    rig.clock.advance(seconds=5)
    assert await rig.runtime.jobs.run_once() == 1
    (txn,) = rig.sim.transactions.values()
    assert (await rig.payment()).provider_ref == txn.checkout_request_id
    assert await jobs(database) == [("payment.start", JobStatus.DONE, 2)]

    await rig.sim.complete(txn.checkout_request_id, 1032)
    rig.clock.advance(minutes=3)  # past Daraja's per-subscriber pause
    rig.sim.inject_error("stk_push", times=3)  # busy, busy, busy: the customer is not kept waiting for ever
    order = await rig.order()
    await rig.tap(f"mpretry.1:{order.id}")
    for wait in (5, 15):
        rig.clock.advance(seconds=wait)
        assert await rig.runtime.jobs.run_once() == 1
    payment = await rig.payment()
    assert (payment.status, payment.reason) == (PaymentStatus.FAILED, "the payment provider refused the request")
    told = (await rig.to_customer())[-1]
    assert "did not go through: M-Pesa was busy." in told.text and told.key == f"payment:{payment.id}:failed"
    assert [text for text, _ in told.buttons] == ["🔁 Try again", "🏦 Pay by Paybill", "💳 Other ways to pay"]
    assert len(rig.sim.transactions) == 1
    assert [status for kind, status, _ in await jobs(database) if kind == "payment.start"] == [
        JobStatus.DONE,
        JobStatus.FAILED,
    ]
