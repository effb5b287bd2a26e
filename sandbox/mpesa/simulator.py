"""A Daraja look-alike: OAuth, STK push and query, C2B Register URL and payments, with callbacks.

It validates requests the way Daraja does and answers with Daraja's error shapes and HTTP codes (see
:mod:`sandbox.mpesa.rules`), then POSTs the callbacks of the reference to the URLs it was given. Two ways to run
it: ``sim.mock_transport()`` for an ``httpx.AsyncClient`` in fast tests, or ``build_app(sim)``
(:mod:`sandbox.mpesa.server`) as a real aiohttp server on 127.0.0.1.

Outcomes are chosen by the test or the playground: ``sim.default_outcome``, ``sim.set_outcome(phone, ...)``, or
``HOLD`` and later ``await sim.complete(checkout_request_id, outcome)``.

This module holds the simulator's state, its set-up calls, STK outcomes and callback delivery; request checking is in
:mod:`sandbox.mpesa.rules`, C2B payments in :mod:`sandbox.mpesa.c2b`, Transaction Status in :mod:`sandbox.mpesa.status`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from core.clock import Clock, SystemClock
from core.money import Money
from payments.mpesa.codes import SAME_AMOUNT_WINDOW, SUBSCRIBER_LOCK
from payments.mpesa.fields import NAIROBI, hash_msisdn, mask_msisdn, timestamp
from sandbox.mpesa import c2b as sim_c2b
from sandbox.mpesa import rules
from sandbox.mpesa import status as sim_status
from sandbox.mpesa.models import (
    PRODUCTS,
    SUCCESS,
    C2BResult,
    CallbackKind,
    CallbackRecord,
    CallbackSender,
    HttpxSender,
    Ids,
    LedgerEntry,
    PhoneFormat,
    RequestRecord,
    SimApp,
    SimOutcome,
    SimResponse,
    SimShortcode,
    StatusRequest,
    StkTransaction,
    dumps,
)

T = TypeVar("T")
SANDBOX_SHORTCODE = "174379"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
SANDBOX_C2B_SHORTCODE = "600984"
SANDBOX_MSISDN = "254708374149"


class DarajaSimulator:
    """In-memory Daraja. Times come from ``clock`` (token expiry, subscriber lock, same-amount rule); callback
    delays are real seconds (``callback_delay``, default 0)."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        callback_delay: float = 0.0,
        lock_window: timedelta = SUBSCRIBER_LOCK,
        same_amount_window: timedelta = SAME_AMOUNT_WINDOW,
        token_ttl: int = 3599,
        expires_in_as_string: bool = True,
        timestamp_tolerance: timedelta | None = None,
        allow_url_overwrite: bool = True,
        stk_phone_format: PhoneFormat = "plain",
        sender: CallbackSender | None = None,
        callback_client: httpx.AsyncClient | None = None,
        allow_remote_callbacks: bool = False,
        callback_timeout: float = 10.0,
        validation_timeout: float = 8.0,
        seed: int | None = None,
        preload_sandbox: bool = True,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.callback_delay = callback_delay
        self.lock_window = lock_window
        self.same_amount_window = same_amount_window
        self.token_ttl = token_ttl
        self.expires_in_as_string = expires_in_as_string
        self.timestamp_tolerance = timestamp_tolerance
        self.allow_url_overwrite = allow_url_overwrite
        self.stk_phone_format: PhoneFormat = stk_phone_format
        self.callback_timeout = callback_timeout
        self.validation_timeout = validation_timeout
        self.default_outcome: SimOutcome = SUCCESS
        self.ids = Ids(seed)
        self.apps: dict[str, SimApp] = {}
        self.shortcodes: dict[str, SimShortcode] = {}
        self.transactions: dict[str, StkTransaction] = {}
        self.callbacks: list[CallbackRecord] = []
        self.requests: list[RequestRecord] = []
        self.c2b_results: list[C2BResult] = []
        self.ledger: dict[str, LedgerEntry] = {}  # receipt -> money received, for Transaction Status
        self.status_requests: dict[str, StatusRequest] = {}  # ConversationID -> request
        self.hold_status_results = False
        self.tokens: dict[str, tuple[str, datetime]] = {}  # token -> (consumer key, expires at)
        self.injected: dict[str, list[SimResponse]] = {}
        self._outcomes: dict[str, SimOutcome] = {}
        self._last_push: dict[str, datetime] = {}
        self._paid: list[tuple[str, int, datetime]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._own_client: httpx.AsyncClient | None = None  # created on first use, closed by aclose()
        self._allow_remote = allow_remote_callbacks
        self._sender: CallbackSender | None = sender
        if sender is None and callback_client is not None:
            self._sender = HttpxSender(callback_client, loopback_only=not allow_remote_callbacks)
        if preload_sandbox:
            self.add_shortcode(SANDBOX_SHORTCODE, SANDBOX_PASSKEY)
            self.add_shortcode(SANDBOX_C2B_SHORTCODE)

    # --- set-up, for tests and the playground ---

    def add_app(self, consumer_key: str, consumer_secret: str, *, products: frozenset[str] = PRODUCTS) -> SimApp:
        """A Daraja app; ``products`` out of ``{"stk", "c2b_v1", "c2b_v2"}`` (others give 401.003.01)."""
        app = SimApp(consumer_key, consumer_secret, frozenset(products))
        self.apps[consumer_key] = app
        return app

    def add_shortcode(
        self,
        shortcode: str,
        passkey: str | None = None,
        *,
        tills: tuple[str, ...] = (),
        external_validation: bool = False,
    ) -> SimShortcode:
        """A Paybill or store number; ``passkey`` enables STK, ``tills`` are its Buy Goods numbers."""
        code = SimShortcode(shortcode, passkey, frozenset(tills), external_validation)
        self.shortcodes[shortcode] = code
        return code

    def add_initiator(self, shortcode: str, name: str, security_credential: str) -> None:
        """An API operator of ``shortcode`` allowed to ask Transaction Status."""
        self.shortcodes[shortcode].initiators[name] = security_credential

    async def answer_status(self, conversation_id: str, *, timed_out: bool = False) -> CallbackRecord:
        """Post the result of a Transaction Status request (to ``QueueTimeOutURL`` when ``timed_out``)."""
        request = self.status_requests[conversation_id]
        url = request.timeout_url if timed_out else request.result_url
        body = sim_status.result_body(self, request, timed_out=timed_out)
        request.result = await self.deliver("transaction_status", url, body, conversation_id)
        return request.result

    def set_outcome(self, phone: str, outcome: SimOutcome | int | str | None) -> None:
        """Script how pushes to ``phone`` end (None: back to ``default_outcome``)."""
        if outcome is None:
            self._outcomes.pop(phone, None)
        else:
            self._outcomes[phone] = SimOutcome.of(outcome)

    def expire_tokens(self, consumer_key: str | None = None) -> None:
        """Make every issued token (of one app, or all) invalid, as if its hour were up."""
        for token, (key, _) in list(self.tokens.items()):
            if consumer_key is None or key == consumer_key:
                del self.tokens[token]

    def inject_error(
        self,
        endpoint: rules.Endpoint,
        *,
        status: int = 500,
        code: str = "500.003.02",
        message: str = "Error Occurred: Spike Arrest Violation",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``endpoint`` with a Daraja error (throttling, outages...)."""
        body = {"requestId": self.ids.hex_id(), "errorCode": code, "errorMessage": message}
        self.injected.setdefault(endpoint, []).extend([SimResponse(status, body)] * times)

    @property
    def tokens_issued(self) -> int:
        return sum(1 for r in self.requests if r.path == rules.OAUTH_PATH and r.status == 200)

    # --- transports ---

    def mock_transport(self) -> httpx.MockTransport:
        """An httpx transport answering as Daraja, whatever the host of the URL."""

        async def handler(request: httpx.Request) -> httpx.Response:
            answer = await self.handle(
                request.method, request.url.path, dict(request.url.params), dict(request.headers), request.content
            )
            return httpx.Response(answer.status, content=answer.content, headers={"Content-Type": "application/json"})

        return httpx.MockTransport(handler)

    async def settle(self) -> None:
        """Wait until every scheduled callback and simulated C2B payment has been delivered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._own_client is not None:
            await self._own_client.aclose()
            self._own_client = None

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- STK: deciding and announcing outcomes ---

    def admit(self, txn: StkTransaction) -> None:
        """Record an accepted push, choose its outcome, and schedule its callback."""
        now = self.clock.now()
        self.transactions[txn.checkout_request_id] = txn
        self._last_push[txn.phone] = now
        outcome = self._forced_outcome(txn, now) or self._outcomes.get(txn.phone, self.default_outcome)
        if not outcome.hold:
            txn.task = self.spawn(self._finish_later(txn, outcome))

    def locked(self, phone: str) -> bool:
        last = self._last_push.get(phone)
        return last is not None and self.clock.now() - last < self.lock_window

    def _forced_outcome(self, txn: StkTransaction, now: datetime) -> SimOutcome | None:
        code = self.shortcodes[txn.shortcode]
        if txn.transaction_type == "CustomerBuyGoodsOnline" and txn.party_b not in code.tills:
            return SimOutcome(2028)
        if txn.transaction_type == "CustomerPayBillOnline" and txn.party_b != txn.shortcode:
            return SimOutcome(2028)
        if txn.amount > rules.MAX_AMOUNT:
            return SimOutcome(3)
        window_start = now - self.same_amount_window
        if any(p == txn.phone and a == txn.amount and at > window_start for p, a, at in self._paid):
            return SimOutcome(17)
        return None

    async def _finish_later(self, txn: StkTransaction, outcome: SimOutcome) -> None:
        if self.callback_delay > 0:
            await asyncio.sleep(self.callback_delay)
        txn.task = None
        await self._finish(txn, outcome)

    async def complete(
        self, checkout_request_id: str, outcome: SimOutcome | int | str = SUCCESS
    ) -> CallbackRecord | None:
        """Decide a pending push now and deliver its callback; returns the callback record (None if not sent)."""
        txn = self.transactions[checkout_request_id]
        if not txn.pending:
            raise ValueError(f"{checkout_request_id} already ended with {txn.outcome}")
        if txn.task is not None:
            txn.task.cancel()
            txn.task = None
        decided = SimOutcome.of(outcome)
        if decided.hold:
            raise ValueError("complete() needs a final outcome, not HOLD")
        return await self._finish(txn, decided)

    async def _finish(self, txn: StkTransaction, outcome: SimOutcome) -> CallbackRecord | None:
        now = self.clock.now()
        txn.outcome, txn.completed_at = outcome, now
        if outcome.paid:
            txn.receipt = self.ids.receipt()
            self._paid.append((txn.phone, txn.amount, now))
            self.ledger[txn.receipt] = LedgerEntry(
                txn.receipt, txn.shortcode, Decimal(txn.amount), txn.phone, "JOHN", "stk", now
            )
            self.shortcodes[txn.shortcode].balance += txn.amount
        if not outcome.send_callback:
            return None
        txn.callback = await self.deliver(
            "stk", txn.callback_url, self._stk_body(txn, outcome), txn.checkout_request_id
        )
        return txn.callback

    def stk_body(self, checkout_request_id: str, outcome: SimOutcome | int | str = SUCCESS) -> dict[str, Any]:
        """The STK callback body this push would get for ``outcome`` (tests replay, duplicate or forge it)."""
        return self._stk_body(self.transactions[checkout_request_id], SimOutcome.of(outcome))

    def _stk_body(self, txn: StkTransaction, outcome: SimOutcome) -> dict[str, Any]:
        code: int | str = int(outcome.code) if outcome.code.isdigit() else outcome.code
        callback: dict[str, Any] = {
            "MerchantRequestID": txn.merchant_request_id,
            "CheckoutRequestID": txn.checkout_request_id,
            "ResultCode": code,
            "ResultDesc": outcome.desc,
        }
        if outcome.paid and txn.receipt and txn.completed_at:
            formats: dict[str, int | str] = {
                "plain": int(txn.phone),
                "string": txn.phone,
                "masked": mask_msisdn(txn.phone),
                "hashed": hash_msisdn(txn.phone),
            }
            phone = formats[self.stk_phone_format]
            callback["CallbackMetadata"] = {
                "Item": [
                    {"Name": "Amount", "Value": Decimal(txn.amount).quantize(Decimal("0.01"))},
                    {"Name": "MpesaReceiptNumber", "Value": txn.receipt},
                    {"Name": "Balance"},
                    {"Name": "TransactionDate", "Value": int(timestamp(txn.completed_at))},
                    {"Name": "PhoneNumber", "Value": phone},
                ]
            }
        return {"Body": {"stkCallback": callback}}

    async def deliver(
        self, kind: CallbackKind, url: str, body: dict[str, Any], ref: str, time_limit: float | None = None
    ) -> CallbackRecord:
        """POST one callback to ``url`` and keep its record; a failure to deliver is recorded, not raised."""
        record = CallbackRecord(kind, url, body, dumps(body), ref, sent_at=self.clock.now())
        self.callbacks.append(record)
        try:
            record.status, record.response = await self._send_callback(
                url, record.content, {"Content-Type": "application/json"}, time_limit or self.callback_timeout
            )
        except Exception as exc:  # any failure to deliver is recorded, as Daraja would log it
            record.error = f"{type(exc).__name__}: {exc}"
        return record

    async def _send_callback(
        self, url: str, content: bytes, headers: Mapping[str, str], time_limit: float
    ) -> tuple[int, bytes]:
        if self._sender is not None:
            return await self._sender(url, content, headers, time_limit)
        if self._own_client is None:
            self._own_client = httpx.AsyncClient(trust_env=False)
        sender = HttpxSender(self._own_client, loopback_only=not self._allow_remote)
        return await sender(url, content, headers, time_limit)

    # --- C2B ---

    async def c2b_pay(
        self,
        shortcode: str,
        bill_ref: str,
        amount: int | Decimal | Money,
        msisdn: str = SANDBOX_MSISDN,
        *,
        msisdn_format: PhoneFormat = "hashed",
        first_name: str = "JOHN",
        middle_name: str = "",
        last_name: str = "",
    ) -> C2BResult:
        """A customer pays ``shortcode`` from the phone (see :func:`sandbox.mpesa.c2b.pay`)."""
        return await sim_c2b.pay(
            self,
            shortcode,
            bill_ref,
            amount,
            msisdn,
            msisdn_format=msisdn_format,
            first_name=first_name,
            middle_name=middle_name,
            last_name=last_name,
        )

    # --- the HTTP face ---

    async def handle(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> SimResponse:
        """Answer one HTTP request as Daraja would (framework-free; both transports call this)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        answer = rules.route(self, method.upper(), "/" + path.strip("/"), dict(query), lowered, body)
        code = answer.body.get("errorCode") if answer.status != 200 else None
        self.requests.append(RequestRecord(method.upper(), "/" + path.strip("/"), answer.status, code))
        return answer

    def nairobi_now(self) -> datetime:
        return self.clock.now().astimezone(NAIROBI)
