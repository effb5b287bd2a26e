"""Transaction Status for C2B receipts is asked by the payment job worker, never while Daraja's confirmation waits:
the M-Pesa rig (the real server, Daraja's simulator as a real server) reached through a network that a test can hold
or make time out (``StatusNetwork``), and the fake clock for the job's back-off.

What each test shows: the confirmation is answered before Daraja's Transaction Status endpoint is called; a result
callback that never comes is asked about again by the worker, and the order is paid once; a Transaction Status
endpoint that times out is asked again, then, after the bound, the merchant is told; and a receipt that M-Pesa never
answers about is given up on after the bound, the merchant told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from core.clock import FakeClock
from core.db.engine import Database
from core.vault import Vault
from payments.mpesa.status import PATH as STATUS_PATH
from payments.states import PaymentStatus
from tests.integration.test_mpesa_c2b import failed_push, register
from tests.integration.test_mpesa_c2b_status import CREDENTIAL, INITIATOR, ask, jobs_of, receipts, with_initiator
from tests.integration.test_mpesa_checkout_kit import Rig, mpesa_rig
from tests.support.app import WAIT


class StatusNetwork(httpx.AsyncBaseTransport):
    """The real network to the simulator, but for Transaction Status requests: ``hold`` keeps each one until
    ``release`` is set; ``lose_answers`` lets it reach Daraja and loses the answer (a read timeout)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.hold = False
        self.release = asyncio.Event()
        self.holding = asyncio.Event()
        self.lose_answers = False
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != STATUS_PATH:
            return await self.inner.handle_async_request(request)
        if self.hold:
            self.holding.set()
            await self.release.wait()
        response = await self.inner.handle_async_request(request)
        self.sent += 1
        if self.lose_answers:
            await response.aread()
            raise httpx.ReadTimeout("no answer in time", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def network() -> AsyncIterator[StatusNetwork]:
    net = StatusNetwork()
    yield net
    await net.aclose()


@pytest.fixture
async def rig(
    database: Database, vault: Vault, clock: FakeClock, tmp_path: Path, network: StatusNetwork
) -> AsyncIterator[Rig]:
    async with (
        httpx.AsyncClient(transport=network) as http,
        mpesa_rig(database, vault, clock, tmp_path, http=http) as running,
    ):
        await running.seed(initiator_name=INITIATOR)
        await with_initiator(running)
        running.sim.add_initiator("174379", INITIATOR, CREDENTIAL)
        running.sim.hold_status_results = True
        await register(running)
        await failed_push(running)
        yield running


async def test_the_confirmation_is_answered_before_daraja_is_asked(rig: Rig, network: StatusNetwork) -> None:
    network.hold = True  # Daraja's Transaction Status is slow: every request hangs until the test lets it through
    order = await rig.order()
    paid = await asyncio.wait_for(rig.sim.c2b_pay("174379", order.code, 420), WAIT)
    assert paid.confirmation is not None and paid.confirmation.status == 200
    assert (network.holding.is_set(), network.sent, rig.sim.status_requests) == (False, 0, {})
    assert await receipts(rig) == [(paid.trans_id, "waiting", None)]
    assert await jobs_of(rig) == [("mpesa.c2b_check", "pending", 0)]
    # The worker asks, and waits on Daraja without holding anyone else.
    asking = asyncio.create_task(ask(rig))
    await asyncio.wait_for(network.holding.wait(), WAIT)
    network.release.set()
    assert await asyncio.wait_for(asking, WAIT) == 1
    (request,) = rig.sim.status_requests.values()
    assert (request.receipt, network.sent) == (paid.trans_id, 1)
    assert (await rig.sim.answer_status(request.conversation_id)).status == 200
    assert (await rig.order()).status == "paid"
    assert await receipts(rig) == [(paid.trans_id, "confirmed", None)]


async def test_a_lost_result_is_asked_again_by_the_worker_and_pays_once(rig: Rig) -> None:
    order = await rig.order()
    paid = await rig.sim.c2b_pay("174379", order.code, 420)
    assert await ask(rig) == 1
    (lost,) = rig.sim.status_requests.values()  # Daraja's answer to it never comes
    assert await ask(rig) == 0  # not asked again before its wait is over
    rig.clock.advance(minutes=2)
    assert await ask(rig) == 1
    again = [r for r in rig.sim.status_requests.values() if r is not lost]
    assert [(r.receipt, r.result_url) for r in again] == [(paid.trans_id, lost.result_url)]
    assert (await rig.sim.answer_status(again[0].conversation_id)).status == 200
    assert (await rig.order()).status == "paid"
    late = await rig.sim.answer_status(lost.conversation_id)  # the first answer turns up after all: nothing more
    assert late.status == 200
    assert [p.status for p in await rig.payments()] == [PaymentStatus.FAILED, PaymentStatus.PAID]
    assert len([a for a in await rig.to_merchant() if "is paid" in a.text]) == 1
    # The job comes back, finds the receipt settled, and ends without asking.
    rig.clock.advance(minutes=5)
    assert await ask(rig) == 1
    assert len(rig.sim.status_requests) == 2
    assert await jobs_of(rig) == [("mpesa.c2b_check", "done", 3)]


async def test_a_status_endpoint_that_times_out_is_retried_then_the_merchant_is_told(
    rig: Rig, network: StatusNetwork
) -> None:
    network.lose_answers = True  # each request reaches Daraja, and its answer is lost
    order = await rig.order()
    paid = await rig.sim.c2b_pay("174379", order.code, 420)
    assert await ask(rig) == 1
    for wait in (2, 5, 15):
        assert await receipts(rig) == [(paid.trans_id, "waiting", None)]
        assert [a.text for a in await rig.to_merchant() if "waiting for confirmation" in a.text] == []
        rig.clock.advance(minutes=wait)
        assert await ask(rig) == 1
    assert network.sent == 4 and len(rig.sim.status_requests) == 4
    why = "M-Pesa did not take the request (mpesa.timeout)"
    assert await receipts(rig) == [(paid.trans_id, "waiting", why)]
    assert await jobs_of(rig) == [("mpesa.c2b_check", "failed", 4)]
    (alert,) = [a.text for a in await rig.to_merchant() if "waiting for confirmation" in a.text]
    assert alert == (
        "⚠️ A Paybill payment is waiting for confirmation: KES 420 with account number "
        f"“{order.code}”, receipt {paid.trans_id}. M-Pesa could not be asked to confirm it ({why}). "
        "Nothing was marked paid yet: check the receipt in the M-Pesa portal."
    )
    rig.clock.advance(hours=1)
    assert await ask(rig) == 0 and network.sent == 4  # given up: bounded
    assert (await rig.order()).status == "awaiting_payment"


async def test_a_receipt_m_pesa_never_answers_about_is_given_up_on_and_the_merchant_told(rig: Rig) -> None:
    order = await rig.order()
    paid = await rig.sim.c2b_pay("174379", order.code, 420)
    assert await ask(rig) == 1
    for wait in (2, 5, 15, 30):
        rig.clock.advance(minutes=wait)
        assert await ask(rig) == 1
    assert len(rig.sim.status_requests) == 4  # asked four times, the last run only gave up
    why = "no answer from M-Pesa to 4 checks"
    assert await receipts(rig) == [(paid.trans_id, "waiting", why)]
    assert await jobs_of(rig) == [("mpesa.c2b_check", "failed", 5)]
    assert (await rig.to_merchant())[-1].text == (
        "⚠️ A Paybill payment is still waiting for confirmation: KES 420 with account number "
        f"“{order.code}”, receipt {paid.trans_id}. M-Pesa never answered our checks ({why}). Nothing was marked "
        "paid yet: check the receipt in the M-Pesa portal, or ask again with dukabot provider recheck-c2b."
    )
    # A late answer still settles it.
    last = list(rig.sim.status_requests.values())[-1]
    assert (await rig.sim.answer_status(last.conversation_id)).status == 200
    assert (await rig.order()).status == "paid"
