"""A FeexPay that runs on this machine and answers as FeexPay's public API does from the outside (as far as it is
known: ``payments/feexpay/SOURCES.md``).

It knows merchants by API key (each with its shop id, live or sandbox), answers ``POST
/api/transactions/public/requesttopay/{network}`` with a reference and ``GET
/api/transactions/public/single/status/{reference}`` with the request's status (``PENDING``, then ``SUCCESSFUL`` or
``FAILED``), echoing ``callback_info``; it refuses a wrong key (401), an unknown network or reference (404), another
shop's id, an amount under 50 F or a number of another country (400). The phone's side is driven from outside
(:meth:`approve`, :meth:`decline`, :meth:`time_out`: the playground's ``:feexpay`` and the tests); each builds the
callback FeexPay sends (unsigned, as FeexPay's), and sends it by itself to a merchant with a callback URL.

Run it as a real server (``server.build_app``) or in process (:meth:`FeexPaySimulator.mock_transport`)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.clock import Clock, SystemClock
from payments.feexpay.networks import BY_CODE, DIAL_CODES
from payments.feexpay.wire import FAILED, MINIMUM_XOF, PENDING, SUCCESSFUL

_REQUEST = re.compile(r"^/api/transactions/public/requesttopay/(?P<network>[a-z_]{1,20})$")
_STATUS = re.compile(r"^/api/transactions/public/single/status/(?P<reference>[^/]{1,128})$")
DECLINED = "Transaction refusée par le client"  # the words the phone's refusal is reported with (ours)
TIMED_OUT = "Délai de validation expiré"


@dataclass
class Merchant:
    api_key: str
    shop_id: str
    sandbox: bool = False
    callback_url: str | None = None  # set on the dashboard: callbacks are sent there by themselves


@dataclass
class SimRequest:
    """One request-to-pay, as FeexPay keeps it."""

    reference: str
    key: str
    network: str
    phone: str
    amount: int
    callback_info: Any
    status: str = PENDING
    message: str = "Transaction en attente"
    created_at: str = ""

    def wire(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "amount": self.amount,
            "status": self.status,
            "message": self.message,
            "phoneNumber": self.phone,
            "reseau": self.network,
            "callback_info": self.callback_info,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class SentCallback:
    url: str
    body: bytes
    headers: Mapping[str, str]


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


def _json(status: int, data: Any) -> Answer:
    return Answer(status, json.dumps(data).encode())


@dataclass
class FeexPaySimulator:
    clock: Clock = field(default_factory=SystemClock)
    merchants: dict[str, Merchant] = field(default_factory=dict)
    requests: list[SimRequest] = field(default_factory=list)
    sent: list[SentCallback] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def add_merchant(
        self, api_key: str, shop_id: str, *, sandbox: bool = False, callback_url: str | None = None
    ) -> Merchant:
        merchant = Merchant(api_key, shop_id, sandbox, callback_url)
        self.merchants[api_key] = merchant
        return merchant

    # --- the API ---------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        auth = headers.get("authorization", "")
        merchant = self.merchants.get(auth.removeprefix("Bearer ").strip()) if auth.startswith("Bearer ") else None
        if merchant is None:
            return _json(401, {"message": "Unauthenticated."})
        if method == "POST" and (match := _REQUEST.match(path)):
            return self._request_to_pay(merchant, match["network"], body)
        if method == "GET" and (match := _STATUS.match(path)):
            found = self.find(match["reference"])
            if found is None or found.key != merchant.api_key:
                return _json(404, {"message": "Transaction not found"})
            return _json(200, found.wire())
        return _json(404, {"message": "Not Found"})

    def _request_to_pay(self, merchant: Merchant, network_code: str, body: bytes) -> Answer:
        network = BY_CODE.get(network_code)
        if network is None:
            return _json(404, {"message": "Réseau non pris en charge"})
        try:
            data = json.loads(body)
        except ValueError:
            return _json(400, {"message": "Corps invalide"})
        if not isinstance(data, dict):
            return _json(400, {"message": "Corps invalide"})
        if data.get("shop") != merchant.shop_id:
            return _json(400, {"message": "Boutique introuvable"})
        amount = data.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < MINIMUM_XOF:
            return _json(400, {"message": f"Le montant minimum est de {MINIMUM_XOF} XOF"})
        phone = str(data.get("phoneNumber", ""))
        if not phone.isdigit() or not phone.startswith(DIAL_CODES[network.country]) or len(phone) < 11:
            return _json(400, {"message": "Numéro de téléphone invalide pour ce réseau"})
        request = SimRequest(
            reference=f"{'SBX' if merchant.sandbox else 'FXP'}-{next(self._ids):08d}",
            key=merchant.api_key,
            network=network.code,
            phone=phone,
            amount=amount,
            callback_info=data.get("callback_info"),
            created_at=self.clock.now().isoformat(),
        )
        self.requests.append(request)
        return _json(200, {"reference": request.reference, "status": PENDING, "message": "Demande envoyée"})

    def find(self, reference: str) -> SimRequest | None:
        return next((r for r in self.requests if r.reference == reference), None)

    def last(self) -> SimRequest:
        if not self.requests:
            raise LookupError("no request-to-pay yet: was the payment started?")
        return self.requests[-1]

    # --- the phone's side ------------------------------------------------------------------------------------------

    def approve(self, request: SimRequest | None = None) -> SentCallback | None:
        return self._settle(request or self.last(), SUCCESSFUL, "Transaction réussie")

    def decline(self, request: SimRequest | None = None) -> SentCallback | None:
        return self._settle(request or self.last(), FAILED, DECLINED)

    def time_out(self, request: SimRequest | None = None) -> SentCallback | None:
        return self._settle(request or self.last(), FAILED, TIMED_OUT)

    def _settle(self, request: SimRequest, status: str, message: str) -> SentCallback | None:
        if request.status != PENDING:
            return None  # a phone answers once
        request.status, request.message = status, message
        merchant = self.merchants[request.key]
        made = self.callback(request, url=merchant.callback_url or "")
        if merchant.callback_url:
            task = asyncio.get_running_loop().create_task(self._send(made))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return made

    def callback(self, request: SimRequest, *, url: str = "") -> SentCallback:
        """The callback FeexPay posts for a settled request: the request as its status tells it, unsigned."""
        return SentCallback(url, json.dumps(request.wire()).encode(), {"Content-Type": "application/json"})

    async def _send(self, made: SentCallback) -> None:
        self.sent.append(made)
        with contextlib.suppress(httpx.HTTPError):
            async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
                await http.post(made.url, content=made.body, headers=dict(made.headers))

    async def drain(self) -> None:
        """Wait until every callback on its way has been sent."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    def mock_transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            headers = {name.lower(): value for name, value in request.headers.items()}
            made = self.handle(request.method, request.url.path, headers, request.content)
            return httpx.Response(made.status, content=made.body, headers={"Content-Type": made.content_type})

        return httpx.MockTransport(answer)
