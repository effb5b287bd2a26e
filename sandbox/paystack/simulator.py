"""A Paystack that runs on this machine and behaves like Paystack from the outside.

It knows a set of secret keys (``sk_test_…`` → domain ``test``, ``sk_live_…`` → ``live``), answers initialize,
verify, refund and refund fetch/list with Paystack's envelopes, HTTP codes and messages, serves a checkout page
at each ``authorization_url`` (``checkout``), and sends signed webhooks to the URL registered for each
key (``webhook_sender``): ``charge.success`` after a success, ``refund.*`` at each refund step, and nothing
for failed or abandoned payments.

Two ways to run it: ``sim.mock_transport()`` under an ``httpx.AsyncClient`` in fast tests (webhooks then go
through the ``sender`` given to the simulator), or ``build_app(sim)`` / ``serve(sim)``: a real aiohttp server on
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from core.clock import Clock, SystemClock
from sandbox.paystack import api
from sandbox.paystack.api import Ledger
from sandbox.paystack.checkout import CHECKOUT_PREFIX, handle_checkout
from sandbox.paystack.server import build_app, serve
from sandbox.paystack.state import (
    Merchant,
    SimRefund,
    SimRequest,
    SimResponse,
    SimTransaction,
    authorization_for,
    domain_of,
    failure,
    response_headers,
)
from sandbox.paystack.webhook_sender import (
    Delivery,
    OutgoingEvent,
    RetryPolicy,
    Sender,
    Sleep,
    WebhookDispatcher,
    loopback_sender,
)

__all__ = ["PaystackSimulator", "RetryPolicy", "SimulatorError", "build_app", "serve"]

_OUTCOMES = {"success": "success", "failed": "failed", "abandoned": "abandoned", "abandon": "abandoned"}
_REFUND_STEPS = {"processing", "processed", "failed", "needs-attention"}


class SimulatorError(Exception):
    """A test asked for something Paystack could not do (pay a spent link, an unknown reference…)."""


@dataclass
class _Fault:
    status: int
    remaining: int
    path_prefix: str | None
    body: bytes
    headers: dict[str, str]


class PaystackSimulator:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        sender: Sender | None = None,
        retry: RetryPolicy | None = None,
        duplicate_deliveries: int = 1,
        sleep: Sleep = asyncio.sleep,
        refund_outcome: str | None = "processed",
        refund_delay: float = 0.01,
        refund_amount_as_string: bool = True,
        refund_webhooks: bool = True,
        refund_webhook_ids: bool = True,
        not_found_status: int = 400,
    ) -> None:
        """``sender`` delivers webhooks (default: real HTTP to 127.0.0.1/localhost only). ``retry``: Paystack's
        test-mode schedule, one hour lasting 50 ms. ``duplicate_deliveries``: copies of every event (half of
        them at once). ``refund_outcome``: where a new refund goes by itself after ``refund_delay`` seconds
        (None: it stays pending until ``settle_refund``). ``refund_webhooks=False``: ``refund.*`` events are
        recorded in ``events`` but not delivered (a lost webhook; ``webhooks.resend`` delivers one later), so only
        fetching the refund finds its state. ``refund_webhook_ids=False``: refund events carry no ``id``, exactly
        as the reference sample (only ``refund_reference``). ``not_found_status``: 400 (what integrators see) or
        404 (the spec) for verify of an unknown reference."""
        self.clock: Clock = clock or SystemClock()
        self.webhooks = WebhookDispatcher(
            sender=sender or loopback_sender(),
            clock=self.clock,
            retry=retry or RetryPolicy.paystack_test(),
            copies=duplicate_deliveries,
            sleep=sleep,
        )
        self.refund_outcome = refund_outcome
        self.refund_delay = refund_delay
        self.refund_amount_as_string = refund_amount_as_string
        self.refund_webhooks = refund_webhooks
        self.refund_webhook_ids = refund_webhook_ids
        self.not_found_status = not_found_status
        self.ledger = Ledger()
        self._sleep = sleep
        self._faults: list[_Fault] = []
        self._network_faults: list[type[httpx.TransportError]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    # --- merchants and inspection ----------------------------------------------------------------------

    def add_merchant(
        self,
        secret_key: str,
        *,
        webhook_url: str | None = None,
        callback_url: str | None = None,
        currency: str = "KES",
    ) -> Merchant:
        """Make a secret key known; ``webhook_url`` and ``callback_url`` are its "dashboard" settings."""
        domain_of(secret_key)  # refuses anything but sk_test_/sk_live_
        merchant = Merchant(secret_key, next(self.ledger.integration_ids), webhook_url, callback_url, currency)
        self.ledger.merchants[secret_key] = merchant
        return merchant

    def set_webhook_url(self, secret_key: str, url: str | None) -> None:
        merchant = self.ledger.merchants.get(secret_key)
        if merchant is None:
            raise SimulatorError("no merchant has that secret key")  # never echo a key
        merchant.webhook_url = url

    @property
    def transactions(self) -> list[SimTransaction]:
        return list(self.ledger.transactions.values())

    @property
    def refunds(self) -> dict[int, SimRefund]:
        return self.ledger.refunds

    def transaction(self, reference: str, *, secret_key: str | None = None) -> SimTransaction:
        found = [
            txn
            for (key, ref), txn in self.ledger.transactions.items()
            if ref == reference and secret_key in (None, key)
        ]
        if len(found) != 1:
            raise SimulatorError(f"{len(found)} transactions have reference {reference!r}")
        return found[0]

    def transaction_by_access_code(self, access_code: str) -> SimTransaction | None:
        return self.ledger.by_access_code.get(access_code)

    @property
    def events(self) -> list[OutgoingEvent]:
        return self.webhooks.events

    @property
    def deliveries(self) -> list[Delivery]:
        return self.webhooks.deliveries

    # --- faults ----------------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        count: int = 1,
        path_prefix: str | None = None,
        message: str | None = None,
        body: bytes | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``count`` API calls (whose path starts with ``path_prefix``) with ``status``."""
        text = message or ("Too many requests" if status == 429 else "An error occurred")
        payload = body if body is not None else json.dumps({"status": False, "message": text}).encode()
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self._faults.append(_Fault(status, count, path_prefix, payload, headers))

    def drop_next(self, error: type[httpx.TransportError] = httpx.ConnectError) -> None:
        """Mock transport only: the next call gets no answer (``httpx.ReadTimeout``, ``ConnectError``…)."""
        self._network_faults.append(error)

    def _take_fault(self, path: str) -> SimResponse | None:
        for fault in self._faults:
            if fault.remaining > 0 and (fault.path_prefix is None or path.startswith(fault.path_prefix)):
                fault.remaining -= 1
                return SimResponse(fault.status, fault.body, "application/json", fault.headers)
        return None

    # --- what customers and Paystack do ----------------------------------------------------------------

    async def pay(
        self,
        reference: str,
        outcome: str = "success",
        *,
        channel: str = "card",
        gateway_response: str | None = None,
        secret_key: str | None = None,
    ) -> SimTransaction:
        """What the checkout page does, for tests: ``success`` (sends ``charge.success``), ``failed`` or
        ``abandoned`` (no webhook). Deliveries run in the background: ``await sim.drain()`` waits for them."""
        if outcome not in _OUTCOMES:
            raise SimulatorError(f"outcome is one of {sorted(_OUTCOMES)}, not {outcome!r}")
        txn = self.transaction(reference, secret_key=secret_key)
        await self.settle(txn, outcome, channel=channel, gateway_response=gateway_response)
        return txn

    async def settle(
        self,
        txn: SimTransaction,
        outcome: str,
        *,
        channel: str | None = None,
        gateway_response: str | None = None,
    ) -> None:
        if txn.final:
            raise SimulatorError(f"transaction {txn.reference} is already {txn.status}; the link is spent")
        status = _OUTCOMES[outcome]
        txn.channel = channel or txn.channel
        txn.status = status
        if status == "abandoned":
            txn.gateway_response = gateway_response or "The transaction was not completed"
            txn.card, txn.steps_left = None, []
            return
        if status == "failed":
            txn.gateway_response = gateway_response or "Declined"
            return
        txn.gateway_response = gateway_response or "Successful"
        txn.paid_at = self.clock.now()
        txn.authorization = authorization_for(txn)
        self._emit(txn.merchant, "charge.success", txn.data(for_webhook=True))

    async def settle_refund(self, refund_id: int, outcome: str = "processed") -> SimRefund:
        """Move a refund on (``processing``, ``processed``, ``failed``, ``needs-attention``), with its webhook."""
        refund = self.refunds[refund_id]
        if outcome not in _REFUND_STEPS:
            raise SimulatorError(f"refund outcome is one of {sorted(_REFUND_STEPS)}, not {outcome!r}")
        if refund.status in {"processed", "failed"}:
            raise SimulatorError(f"refund {refund_id} is already {refund.status}")
        refund.status = outcome
        refund.updated_at = self.clock.now()
        txn = refund.transaction
        if outcome == "processed":
            txn.refunded += refund.amount
            if txn.refunded >= txn.amount:
                txn.status = "reversed"
        self._emit_refund(refund)
        return refund

    async def drain(self, limit: float = 10.0) -> None:
        """Wait for automatic refund steps and every webhook delivery (retries included) to finish."""
        async with asyncio.timeout(limit):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self.webhooks.drain(limit)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.webhooks.close()

    def _emit(self, merchant: Merchant, event: str, data: Mapping[str, Any], *, deliver: bool = True) -> None:
        self.webhooks.emit(event, data, secret_key=merchant.secret_key, url=merchant.webhook_url, deliver=deliver)

    def _emit_refund(self, refund: SimRefund) -> None:
        """``refund.<status>`` for the refund's current status."""
        data = refund.webhook_data(amount_as_string=self.refund_amount_as_string, with_id=self.refund_webhook_ids)
        merchant = refund.transaction.merchant
        self._emit(merchant, f"refund.{refund.status}", data, deliver=self.refund_webhooks)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- HTTP ------------------------------------------------------------------------------------------

    def mock_transport(self) -> httpx.MockTransport:
        """An httpx transport that answers every host with this simulator (API and checkout pages)."""

        async def handler(request: httpx.Request) -> httpx.Response:
            if self._network_faults:
                raise self._network_faults.pop(0)("simulated network failure", request=request)
            sim_request = SimRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=await request.aread(),
                origin=f"{request.url.scheme}://{request.url.netloc.decode('ascii')}",
            )
            answer = await self.handle(sim_request)
            return httpx.Response(answer.status, content=answer.body, headers=response_headers(answer))

        return httpx.MockTransport(handler)

    async def handle(self, request: SimRequest) -> SimResponse:
        """Answer one HTTP request, whatever carried it."""
        if request.path.startswith(CHECKOUT_PREFIX):
            return await handle_checkout(self, request)
        fault = self._take_fault(request.path)
        if fault is not None:
            return fault
        merchant = self.ledger.authenticate(request)
        if merchant is None:
            return failure(401, "Invalid key")
        method, path = request.method.upper(), request.path.rstrip("/")
        if method == "POST" and path == "/transaction/initialize":
            return api.initialize(self.ledger, merchant, request, self.clock.now())
        if method == "GET" and path.startswith("/transaction/verify/"):
            reference = path.removeprefix("/transaction/verify/")
            return api.verify(self.ledger, merchant, reference, not_found_status=self.not_found_status)
        if method == "POST" and path == "/refund":
            return self._refund(merchant, request)
        if method == "GET" and path == "/refund":
            return api.list_refunds(self.ledger, merchant, request)
        if method == "GET" and path.startswith("/refund/"):
            return api.fetch_refund(self.ledger, merchant, path.removeprefix("/refund/"))
        return failure(404, "Not found")

    def _refund(self, merchant: Merchant, request: SimRequest) -> SimResponse:
        answer, refund = api.create_refund(self.ledger, merchant, request, self.clock.now())
        if refund is not None:
            self._emit_refund(refund)
            if self.refund_outcome is not None:
                self._spawn(self._auto_settle(refund.id, self.refund_outcome))
        return answer

    async def _auto_settle(self, refund_id: int, outcome: str) -> None:
        await self._sleep(self.refund_delay)
        if self.refunds[refund_id].status == "pending":
            await self.settle_refund(refund_id, outcome)
