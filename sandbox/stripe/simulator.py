"""A Stripe that runs on this machine and answers as Stripe does from the outside.

The API (``/v1/checkout/sessions``, ``/v1/refunds``, ``/v1/balance``) takes form-encoded bodies with a secret key
in ``Authorization: Bearer``, keeps ``Idempotency-Key`` answers (the same key with other parameters is a 400
``idempotency_error``), refuses what Stripe refuses (an ``expires_at`` outside 30 minutes to 24 hours, an amount
below the minimum, a refund beyond what was paid) with Stripe's ``{"error": {...}}``, and serves the hosted
Checkout page of each session (``checkout.py``: pay, a delayed payment that fails, or leave).

Events are recorded in ``events`` and, when the mode's webhook endpoint is set (``set_endpoint``), delivered to it
signed (``Stripe-Signature``, every secret of the endpoint). ``deliveries(event)`` gives the exact request to send,
so a test decides when, how often, signed by whom and at what time.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.clock import Clock, SystemClock
from payments.stripe.signature import SIGNATURE_HEADER, header
from sandbox.stripe.forms import parse_form
from sandbox.stripe.state import Account, Endpoint, Idempotent, SimAccount, SimEvent, SimRefund, SimSession

CHECKOUT_PREFIX = "/c/pay/"
ONBOARDING_PREFIX = "/c/onboard/"
MINIMUM = {"usd": 50}
MAXIMUM = 99_999_999


@dataclass(frozen=True)
class SimRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    origin: str  # scheme://host[:port] the request was sent to


@dataclass(frozen=True)
class SimResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]

    @classmethod
    def json(cls, data: Any, status: int = 200) -> SimResponse:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", "Request-Id": "req_sim"})


def error(status: int, kind: str, message: str, *, code: str | None = None, param: str | None = None) -> SimResponse:
    body: dict[str, Any] = {"type": kind, "message": message}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    return SimResponse.json({"error": body}, status)


class StripeSimulator:
    def __init__(self, *, clock: Clock | None = None, public_url: str | None = None) -> None:
        """``public_url``: where the checkout pages are reached (else the host each request was sent to)."""
        self.clock: Clock = clock or SystemClock()
        self.public_url = public_url
        self.account = Account()
        self.sessions: list[SimSession] = []
        self.refunds: list[SimRefund] = []
        self.events: list[SimEvent] = []
        self.accounts: dict[str, SimAccount] = {}
        self.requests: list[SimRequest] = []
        self._idempotent: dict[tuple[str, str], Idempotent] = {}
        self._ids = itertools.count(1)
        self._http: httpx.AsyncClient | None = None

    # --- accounts -----------------------------------------------------------------------------------------

    def add_key(self, secret_key: str) -> None:
        """A key of the account: ``sk_test_…`` works in test mode, ``sk_live_…`` in live mode."""
        self.account.keys[secret_key] = not secret_key.startswith(("sk_test_", "rk_test_"))

    def set_endpoint(self, url: str, secret: str, *, livemode: bool = False) -> None:
        """The webhook endpoint of one mode, as set on Stripe's dashboard: its events are delivered there."""
        self.account.endpoints[livemode] = Endpoint(url, secret)

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def _id(self, prefix: str, livemode: bool | None = None) -> str:
        mode = "" if livemode is None else ("live_" if livemode else "test_")
        return f"{prefix}_{mode}sim{next(self._ids):06d}"

    # --- the API ------------------------------------------------------------------------------------------

    async def handle(self, request: SimRequest) -> SimResponse:
        from sandbox.stripe.checkout import handle_checkout  # the pages and the API share the state
        from sandbox.stripe.connect import handle_onboarding

        self.requests.append(request)
        if request.path.startswith(CHECKOUT_PREFIX):
            return await handle_checkout(self, request)
        if request.path.startswith(ONBOARDING_PREFIX):
            return await handle_onboarding(self, request)
        key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if key not in self.account.keys:
            return error(401, "invalid_request_error", "Invalid API Key provided", code="api_key_invalid")
        livemode = self.account.keys[key]
        fields = parse_form(request.body) if request.method == "POST" else {}
        idem = request.headers.get("idempotency-key")
        if idem and request.method == "POST":
            earlier = self._idempotent.get((key, idem))
            if earlier is not None:
                if earlier.fields != fields:
                    return error(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        "used with.",
                    )
                return SimResponse.json(earlier.answer, earlier.status)
        answer = self._route(request, key, livemode, fields)
        if idem and request.method == "POST" and answer.status < 500:
            self._idempotent[(key, idem)] = Idempotent(fields, answer.status, json.loads(answer.body))
        return answer

    def _route(self, request: SimRequest, key: str, livemode: bool, fields: dict[str, Any]) -> SimResponse:
        parts = [part for part in request.path.split("/") if part]
        on_account = request.headers.get("stripe-account")
        if on_account is not None and on_account not in self.accounts:
            return error(403, "invalid_request_error", "The provided key does not have access to account")
        if request.method == "GET" and parts == ["v1", "balance"]:
            return SimResponse.json(self._balance(on_account, livemode))
        if request.method == "GET" and parts == ["v1", "payouts"] and on_account is not None:
            return SimResponse.json({"object": "list", "data": list(self.accounts[on_account].payouts)})
        if request.method == "POST" and parts == ["v1", "accounts"]:
            account = SimAccount(self._id("acct"), livemode, dict(fields.get("metadata") or {}))
            self.accounts[account.id] = account
            return SimResponse.json(account.wire())
        if request.method == "POST" and parts == ["v1", "account_links"]:
            return self._account_link(request, fields)
        if parts[:3] == ["v1", "checkout", "sessions"]:
            if request.method == "POST" and len(parts) == 3:
                return self._create_session(request, key, livemode, fields)
            found = self._session(parts[3], key) if len(parts) >= 4 else None
            if found is None:
                return error(404, "invalid_request_error", "No such checkout.session", code="resource_missing")
            if request.method == "POST" and parts[4:] == ["expire"]:
                if found.status != "open":
                    return error(400, "invalid_request_error", "Only open sessions can be expired.")
                self.expire(found.id)
            return SimResponse.json(found.wire())
        if parts[:2] == ["v1", "refunds"]:
            if request.method == "POST" and len(parts) == 2:
                return self._create_refund(key, livemode, fields)
            refund = next((r for r in self.refunds if len(parts) == 3 and r.id == parts[2] and r.key == key), None)
            if refund is None:
                return error(404, "invalid_request_error", "No such refund", code="resource_missing")
            return SimResponse.json(refund.wire())
        return error(404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {request.path})")

    def _balance(self, account: str | None, livemode: bool) -> dict[str, Any]:
        """A connected account's balance: what its destination charges brought, less the platform's fees."""
        totals: dict[str, int] = {}
        for session in self.sessions:
            if account is not None and session.destination == account and session.payment_status == "paid":
                totals[session.currency] = (
                    totals.get(session.currency, 0) + session.amount_total - session.application_fee
                )
        available = [{"amount": amount, "currency": currency} for currency, amount in totals.items()]
        return {"object": "balance", "livemode": livemode, "available": available, "pending": []}

    def _account_link(self, request: SimRequest, fields: dict[str, Any]) -> SimResponse:
        account = self.accounts.get(str(fields.get("account")))
        if account is None:
            return error(400, "invalid_request_error", "No such account", param="account")
        if fields.get("type") != "account_onboarding":
            return error(400, "invalid_request_error", "Invalid type", param="type")
        account.return_url, account.refresh_url = str(fields.get("return_url")), str(fields.get("refresh_url"))
        url = f"{self.public_url or request.origin}{ONBOARDING_PREFIX}{account.id}"
        return SimResponse.json(
            {"object": "account_link", "url": url, "created": self.now(), "expires_at": self.now() + 300}
        )

    def _session(self, session_id: str, key: str | None = None) -> SimSession | None:
        return next((s for s in self.sessions if s.id == session_id and (key is None or s.key == key)), None)

    def _create_session(self, request: SimRequest, key: str, livemode: bool, fields: dict[str, Any]) -> SimResponse:
        items = fields.get("line_items")
        if fields.get("mode") != "payment" or not isinstance(items, list) or not items:
            return error(400, "invalid_request_error", "mode=payment with line_items is required", param="mode")
        total, currency = 0, ""
        for item in items:
            price = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(price, dict) or not str(price.get("unit_amount", "")).isdigit():
                return error(400, "invalid_request_error", "Invalid integer", param="line_items[0][price_data]")
            if currency not in ("", price.get("currency")):
                return error(400, "invalid_request_error", "All line items share one currency")
            currency = str(price.get("currency"))
            total += int(price["unit_amount"]) * int(item.get("quantity") or 1)
        if currency != currency.lower() or len(currency) != 3:
            return error(400, "invalid_request_error", "Invalid currency", param="currency")
        if total < MINIMUM.get(currency, 1):
            return error(400, "invalid_request_error", "Amount must be at least the minimum", code="amount_too_small")
        if total > MAXIMUM:
            return error(400, "invalid_request_error", "Amount must be no more than 99999999", code="amount_too_large")
        now = self.now()
        expires = fields.get("expires_at")
        if expires is not None and (not str(expires).isdigit() or not now + 1800 <= int(expires) <= now + 86400):
            return error(
                400,
                "invalid_request_error",
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
                param="expires_at",
            )
        intent = fields.get("payment_intent_data")
        intent = intent if isinstance(intent, dict) else {}
        for url_field in ("success_url", "cancel_url"):
            if not str(fields.get(url_field, "")).startswith(("http://", "https://")):
                return error(400, "invalid_request_error", "Not a valid URL", param=url_field)
        transfer = intent.get("transfer_data")
        destination = transfer.get("destination") if isinstance(transfer, dict) else None
        if destination is not None and not (
            destination in self.accounts and self.accounts[destination].charges_enabled
        ):
            return error(
                400, "invalid_request_error", "The destination account cannot take charges", code="account_invalid"
            )
        session_id = self._id("cs", livemode)
        session = SimSession(
            id=session_id,
            key=key,
            livemode=livemode,
            amount_total=total,
            currency=currency,
            client_reference_id=fields.get("client_reference_id"),
            metadata=dict(fields.get("metadata") or {}),
            intent_metadata=dict(intent.get("metadata") or {}),
            success_url=str(fields["success_url"]),
            cancel_url=str(fields["cancel_url"]),
            expires_at=int(expires) if expires is not None else now + 86400,
            created=now,
            url=f"{self.public_url or request.origin}{CHECKOUT_PREFIX}{session_id}",
        )
        session.destination = destination
        session.application_fee = int(intent.get("application_fee_amount") or 0)
        self.sessions.append(session)
        return SimResponse.json(session.wire())

    def _create_refund(self, key: str, livemode: bool, fields: dict[str, Any]) -> SimResponse:
        intent = str(fields.get("payment_intent") or "")
        session = next((s for s in self.sessions if s.payment_intent == intent and s.key == key), None)
        if session is None or session.payment_status != "paid":
            return error(400, "invalid_request_error", f"No such payment_intent: '{intent}'", code="resource_missing")
        refunded = sum(r.amount for r in self.refunds if r.payment_intent == intent and r.status != "failed")
        amount = int(fields["amount"]) if str(fields.get("amount", "")).isdigit() else session.amount_total - refunded
        if amount <= 0 or refunded + amount > session.amount_total:
            return error(
                400,
                "invalid_request_error",
                "Refund amount is greater than unrefunded amount on charge",
                code="charge_already_refunded" if refunded >= session.amount_total else "amount_too_large",
            )
        refund = SimRefund(
            id=self._id("re"),
            key=key,
            payment_intent=intent,
            charge="ch_" + intent.removeprefix("pi_"),
            amount=amount,
            currency=session.currency,
            metadata=dict(fields.get("metadata") or {}),
            created=self.now(),
        )
        self.refunds.append(refund)
        self._emit("refund.created", refund.wire(), livemode)
        return SimResponse.json(refund.wire())

    # --- what the customer and Stripe do ------------------------------------------------------------------

    def last(self) -> SimSession:
        if not self.sessions:
            raise LookupError("Stripe has no Checkout Session: was the payment started?")
        return self.sessions[-1]

    def pay(self, session_id: str) -> SimEvent:
        """The customer pays by card: the session is complete and paid."""
        session = self._open(session_id)
        session.status, session.payment_status = "complete", "paid"
        session.payment_intent = self._id("pi")
        return self._emit("checkout.session.completed", session.wire(), session.livemode)

    def pay_later(self, session_id: str, *, succeeds: bool) -> list[SimEvent]:
        """A delayed method (a bank debit): completed unpaid now, then its money arrives or fails."""
        session = self._open(session_id)
        session.status = "complete"
        session.payment_intent = self._id("pi")
        first = self._emit("checkout.session.completed", session.wire(), session.livemode)
        session.payment_status = "paid" if succeeds else "unpaid"
        kind = "succeeded" if succeeds else "failed"
        return [first, self._emit(f"checkout.session.async_payment_{kind}", session.wire(), session.livemode)]

    def expire(self, session_id: str) -> SimEvent:
        session = self._open(session_id)
        session.status = "expired"
        return self._emit("checkout.session.expired", session.wire(), session.livemode)

    def settle_refunds(self, status: str = "succeeded") -> list[SimEvent]:
        """Every pending refund reaches ``status``; a succeeded one's charge reports it (``charge.refunded``)."""
        sent: list[SimEvent] = []
        for refund in [r for r in self.refunds if r.status == "pending"]:
            refund.status = status
            livemode = self.account.keys.get(refund.key, False)
            sent.append(self._emit("refund.updated", refund.wire(), livemode))
            if status == "succeeded":
                sent.append(self._emit("charge.refunded", self._charge(refund), livemode))
        return sent

    def _charge(self, refund: SimRefund) -> dict[str, Any]:
        session = next(s for s in self.sessions if s.payment_intent == refund.payment_intent)
        listed = [r.wire() for r in self.refunds if r.payment_intent == refund.payment_intent]
        return {
            "id": refund.charge,
            "object": "charge",
            "amount": session.amount_total,
            "amount_refunded": sum(r["amount"] for r in listed if r["status"] == "succeeded"),
            "currency": session.currency,
            "metadata": dict(session.intent_metadata),
            "payment_intent": refund.payment_intent,
            "refunded": all(r["status"] == "succeeded" for r in listed),
            "refunds": {"object": "list", "data": listed},
        }

    def _open(self, session_id: str) -> SimSession:
        session = self._session(session_id)
        if session is None or session.status != "open":
            raise LookupError(f"no open Checkout Session {session_id}")
        return session

    def complete_onboarding(self, account_id: str) -> SimEvent:
        """The merchant gave Stripe its details: the account can take charges (``account.updated``)."""
        account = self.accounts[account_id]
        account.charges_enabled = account.details_submitted = True
        return self._emit("account.updated", account.wire(), account.livemode, account=account.id)

    def payout(self, account_id: str, amount: int, currency: str, status: str = "paid") -> None:
        self.accounts[account_id].payouts.insert(
            0,
            {"object": "payout", "amount": amount, "currency": currency, "status": status, "arrival_date": self.now()},
        )

    def _emit(self, kind: str, obj: dict[str, Any], livemode: bool, *, account: str | None = None) -> SimEvent:
        event_id = self._id("evt")
        body = {
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": self.now(),
            "livemode": livemode,
            "type": kind,
            "data": {"object": obj},
        }
        if account is not None:  # a Connect event: what happened on a connected account
            body["account"] = account
        event = SimEvent(event_id, kind, livemode, body)
        self.events.append(event)
        return event

    # --- webhooks -----------------------------------------------------------------------------------------

    def signed(
        self, event: SimEvent, *, secrets: list[str] | None = None, at: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The event's exact body and headers, signed with its mode's endpoint secret (or ``secrets``) at ``at``."""
        raw = json.dumps(event.body).encode()
        if secrets is None:
            endpoint = self.account.endpoints.get(event.livemode)
            secrets = [endpoint.secret] if endpoint else []
        timestamp = self.now() if at is None else at
        return raw, {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: header(raw, secrets, timestamp),
        }

    async def deliver(self, event: SimEvent) -> int | None:
        """Send the event to its mode's endpoint, as Stripe does; its HTTP status (None: no endpoint)."""
        endpoint = self.account.endpoints.get(event.livemode)
        if endpoint is None:
            return None
        host = urlsplit(endpoint.url).hostname or ""
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulator delivers to this machine only")
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, timeout=10)
        body, headers = self.signed(event)
        answer = await self._http.post(endpoint.url, content=body, headers=headers)
        return answer.status_code

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- how it is reached --------------------------------------------------------------------------------

    def mock_transport(self) -> httpx.MockTransport:
        async def answer(request: httpx.Request) -> httpx.Response:
            reply = await self.handle(
                SimRequest(
                    method=request.method,
                    path=request.url.path,
                    query=dict(request.url.params),
                    headers={k.lower(): v for k, v in request.headers.items()},
                    body=await request.aread(),
                    origin=f"{request.url.scheme}://{request.url.netloc.decode()}",
                )
            )
            return httpx.Response(reply.status, content=reply.body, headers=dict(reply.headers))

        return httpx.MockTransport(answer)
