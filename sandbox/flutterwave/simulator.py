"""A Flutterwave v3 that runs on this machine and answers as Flutterwave does from the outside.

It knows merchants by secret key (``FLWSECK_TEST-…`` is the test mode), answers ``POST /v3/payments`` with a hosted
link, verify by id and by reference, refunds and their fetch, and ``/v3/balances``, in Flutterwave's envelopes and
errors; it serves the hosted checkout page at each link (pay, fail, abandon), sends the customer back to the
``redirect_url`` as Flutterwave does, and builds (and, for a merchant with a webhook URL, sends) the
``charge.completed`` webhook with its ``verif-hash`` header (and ``flutterwave-signature`` where the merchant set an
HMAC secret). A link never paid or failed is no transaction yet: verify does not know it, as on Flutterwave.

Run it as a real server (:func:`sandbox.hosted.build_app`) or in process
(:meth:`FlutterwaveSimulator.mock_transport`)."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import httpx

from core.clock import Clock, SystemClock
from payments.flutterwave.wire import (
    CHARGE_COMPLETED,
    HASH_HEADER,
    SIGNATURE_HEADER,
    is_test_key,
    sign,
)
from sandbox.flutterwave.checkout import checkout_page_of
from sandbox.hosted import Answer, Deliveries, mock_transport, page_answer, unknown_page

CHECKOUT_PREFIX = "/v3/hosted/pay/"
NOT_FOUND = "No transaction was found for this id"


@dataclass
class Merchant:
    secret_key: str
    secret_hash: str
    hmac_secret: str | None = None
    webhook_url: str | None = None  # set on the dashboard: webhooks are sent there by themselves

    @property
    def test(self) -> bool:
        return is_test_key(self.secret_key)


@dataclass
class SimTransaction:
    """One hosted link and, once the customer paid or failed, its transaction (``status`` not ``pending``)."""

    id: int
    link_id: str
    tx_ref: str
    key: str  # the merchant's secret key that made it
    amount: Decimal
    currency: str
    redirect_url: str
    customer: Mapping[str, Any]
    payment_options: str
    status: str = "pending"
    attempted: bool = False  # verify knows it only once the customer tried to pay
    processor_response: str | None = None
    payment_type: str = "card"
    created_at: str = ""
    refunded: Decimal = Decimal(0)

    @property
    def flw_ref(self) -> str:
        return f"FLW-MOCK-{self.link_id}"

    def wire(self) -> dict[str, Any]:
        amount = _number(self.amount)
        return {
            "id": self.id,
            "tx_ref": self.tx_ref,
            "flw_ref": self.flw_ref,
            "device_fingerprint": "N/A",
            "amount": amount,
            "currency": self.currency,
            "charged_amount": amount,
            "app_fee": _number((self.amount * Decimal("0.014")).quantize(Decimal("0.01"))),
            "merchant_fee": 0,
            "processor_response": self.processor_response,
            "auth_model": "PIN" if self.payment_type == "card" else "NOAUTH",
            "ip": "::ffff:127.0.0.1",
            "narration": f"{self.payment_type.upper()} Transaction ",
            "status": self.status,
            "payment_type": self.payment_type,
            "created_at": self.created_at,
            "account_id": 17321,
            "customer": {
                "id": 215604089,
                "name": self.customer.get("name") or "Anonymous customer",
                "phone_number": self.customer.get("phonenumber") or "N/A",
                "email": self.customer.get("email"),
                "created_at": self.created_at,
            },
        }


@dataclass
class SimRefund:
    id: int
    tx_id: int
    amount: Decimal
    status: str
    created_at: str

    def wire(self, txn: SimTransaction) -> dict[str, Any]:
        return {
            "id": self.id,
            "account_id": 17321,
            "tx_id": self.tx_id,
            "flw_ref": f"URF_{txn.link_id}_{self.id}",
            "wallet_id": 74639,
            "amount_refunded": _number(self.amount),
            "status": self.status,
            "destination": "payment_source",
            "meta": {"source": "availablebalance"},
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Outgoing:
    """A webhook as Flutterwave sends it: the exact bytes and their headers."""

    url: str | None
    body: bytes
    headers: dict[str, str]


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _json(status: int, payload: Any) -> Answer:
    return Answer(status, json.dumps(payload).encode())


def _error(status: int, message: str) -> Answer:
    return _json(status, {"status": "error", "message": message, "data": None})


class FlutterwaveSimulator:
    def __init__(self, *, clock: Clock | None = None, refund_status: str = "completed") -> None:
        self.clock: Clock = clock or SystemClock()
        self.refund_status = refund_status  # what a new refund is: "completed" as documented, or "pending"
        self.merchants: dict[str, Merchant] = {}
        self.transactions: list[SimTransaction] = []
        self.refunds: list[SimRefund] = []
        self.sent: list[Outgoing] = []  # every webhook built, delivered or not
        self.faults: dict[str, list[int]] = {}  # path prefix -> statuses to answer next, in order
        self._ids = itertools.count(4_100_000)
        # Flutterwave would retry per the dashboard's setting; the shop's reconciler covers a lost one.
        self._deliveries = Deliveries()

    # --- the merchant's dashboard, and what a test arranges ------------------------------------------------------

    def add_merchant(
        self, secret_key: str, secret_hash: str, *, hmac_secret: str | None = None, webhook_url: str | None = None
    ) -> Merchant:
        merchant = Merchant(secret_key, secret_hash, hmac_secret, webhook_url)
        self.merchants[secret_key] = merchant
        return merchant

    def fail_next(self, path_prefix: str, *statuses: int) -> None:
        """Answer the next requests under ``path_prefix`` with these statuses (a 500, a 429…), then normally."""
        self.faults.setdefault(path_prefix, []).extend(statuses)

    def last(self) -> SimTransaction:
        if not self.transactions:
            raise LookupError("Flutterwave has no link: was the payment started?")
        return self.transactions[-1]

    def by_link(self, link_id: str) -> SimTransaction | None:
        return next((txn for txn in self.transactions if txn.link_id == link_id), None)

    # --- the customer at the checkout -----------------------------------------------------------------------------

    def settle(self, txn: SimTransaction, outcome: str, *, payment_type: str | None = None) -> str:
        """The customer pays (``successful``), fails (``failed``: a declined card) or abandons (``cancelled``: no
        transaction comes of it). Returns the URL Flutterwave sends the browser back to."""
        if outcome in ("successful", "failed") and txn.status == "pending":
            txn.status, txn.attempted = outcome, True
            txn.created_at = self.clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            txn.processor_response = "Approved by Financial Institution" if outcome == "successful" else "Declined"
            if payment_type:
                txn.payment_type = payment_type
            self._send(self.webhook(txn))
        query = {"status": outcome if txn.attempted or outcome == "cancelled" else txn.status, "tx_ref": txn.tx_ref}
        if txn.attempted:
            query["transaction_id"] = str(txn.id)
        return f"{txn.redirect_url}{'&' if '?' in txn.redirect_url else '?'}{urlencode(query)}"

    # --- webhooks -------------------------------------------------------------------------------------------------

    def webhook(self, txn: SimTransaction, *, secret_hash: str | None = None, body: bytes | None = None) -> Outgoing:
        """The ``charge.completed`` webhook of ``txn`` (or ``body`` as given), with the merchant's ``verif-hash``
        (or ``secret_hash``: someone else's) and, where the merchant set one, ``flutterwave-signature``."""
        merchant = self.merchants[txn.key]
        event_type = "CARD_TRANSACTION" if txn.payment_type == "card" else f"{txn.payment_type.upper()}_TRANSACTION"
        raw = body or json.dumps({"event": CHARGE_COMPLETED, "data": txn.wire(), "event.type": event_type}).encode()
        headers = {"Content-Type": "application/json", HASH_HEADER: secret_hash or merchant.secret_hash}
        if merchant.hmac_secret:
            headers[SIGNATURE_HEADER] = sign(raw, merchant.hmac_secret)
        return Outgoing(merchant.webhook_url, raw, headers)

    def refund_webhook(self, refund: SimRefund) -> Outgoing:
        """A refund's webhook. Its event name and body are not documented (SOURCES.md): this is one plausible form."""
        txn = next(txn for txn in self.transactions if txn.id == refund.tx_id)
        merchant = self.merchants[txn.key]
        raw = json.dumps({"event": f"refund.{refund.status}", "data": refund.wire(txn)}).encode()
        return Outgoing(
            merchant.webhook_url, raw, {"Content-Type": "application/json", HASH_HEADER: merchant.secret_hash}
        )

    def _send(self, outgoing: Outgoing) -> None:
        self.sent.append(outgoing)
        if outgoing.url is not None:
            self._deliveries.post(outgoing.url, outgoing.body, outgoing.headers)

    async def drain(self) -> None:
        await self._deliveries.drain()

    async def close(self) -> None:
        await self._deliveries.close()

    # --- the API --------------------------------------------------------------------------------------------------

    async def handle(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, origin: str
    ) -> Answer:
        if path.startswith(CHECKOUT_PREFIX):
            return self._checkout(method, path.removeprefix(CHECKOUT_PREFIX), query, origin)
        for prefix, statuses in self.faults.items():
            if path.startswith(prefix) and statuses:
                return _error(statuses.pop(0), "Simulated fault")
        key = headers.get("authorization", "").removeprefix("Bearer ").strip()
        merchant = self.merchants.get(key)
        if merchant is None:
            return _error(401, "Invalid authorization key")
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v3", "payments"]:
            return self._create(merchant, body, origin)
        if method == "GET" and parts == ["v3", "transactions", "verify_by_reference"]:
            found = [t for t in self.transactions if t.tx_ref == query.get("tx_ref") and t.key == key and t.attempted]
            return self._verified(found[-1] if found else None)
        if method == "GET" and len(parts) == 4 and parts[:2] == ["v3", "transactions"] and parts[3] == "verify":
            return self._verified(self._txn(parts[2], key))
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v3", "transactions"] and parts[3] == "refund":
            return self._refund(self._txn(parts[2], key), body)
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v3", "refunds"]:
            return self._refund_fetch(parts[2], key)
        if method == "GET" and parts == ["v3", "balances"]:
            balances = [{"currency": c, "available_balance": 0, "ledger_balance": 0} for c in ("NGN", "KES", "USD")]
            return _json(200, {"status": "success", "message": "Wallet balances fetched", "data": balances})
        return _error(404, f"Cannot {method} {path}")

    def _txn(self, ident: str, key: str) -> SimTransaction | None:
        return next((t for t in self.transactions if str(t.id) == ident and t.key == key and t.attempted), None)

    def _create(self, merchant: Merchant, body: bytes, origin: str) -> Answer:
        try:
            data = json.loads(body)
            tx_ref, currency = str(data["tx_ref"]), str(data.get("currency") or "NGN")
            amount = Decimal(str(data["amount"]))
            customer, redirect_url = data["customer"], str(data["redirect_url"])
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return _error(400, "tx_ref, amount, customer and redirect_url are required")
        if not isinstance(customer, Mapping) or not customer.get("email"):
            return _error(400, "customer.email is required")
        if not amount.is_finite() or amount <= 0:
            return _error(400, "Invalid amount")
        txn = SimTransaction(
            id=next(self._ids),
            link_id=secrets.token_hex(6),
            tx_ref=tx_ref,
            key=merchant.secret_key,
            amount=amount,
            currency=currency.upper(),
            redirect_url=redirect_url,
            customer=dict(customer),
            payment_options=str(data.get("payment_options") or "card"),
        )
        self.transactions.append(txn)
        link = f"{origin}{CHECKOUT_PREFIX}{txn.link_id}"
        return _json(200, {"status": "success", "message": "Hosted Link", "data": {"link": link}})

    @staticmethod
    def _verified(txn: SimTransaction | None) -> Answer:
        if txn is None:
            return _error(400, NOT_FOUND)
        return _json(200, {"status": "success", "message": "Transaction fetched successfully", "data": txn.wire()})

    def _refund(self, txn: SimTransaction | None, body: bytes) -> Answer:
        if txn is None:
            return _error(400, NOT_FOUND)
        if txn.status != "successful":
            return _error(400, "Only successful transactions can be refunded")
        try:
            given = json.loads(body or b"{}").get("amount")
            amount = txn.amount - txn.refunded if given is None else Decimal(str(given))
        except (ValueError, AttributeError, InvalidOperation):
            return _error(400, "Invalid amount")
        if amount <= 0 or amount > txn.amount - txn.refunded:
            return _error(400, "Refund amount is more than what is left of the transaction")
        txn.refunded += amount
        now = self.clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        refund = SimRefund(next(self._ids), txn.id, amount, self.refund_status, now)
        self.refunds.append(refund)
        if refund.status != "pending":
            self._send(self.refund_webhook(refund))
        return _json(200, {"status": "success", "message": "Transaction refund initiated", "data": refund.wire(txn)})

    def _refund_fetch(self, ident: str, key: str) -> Answer:
        refund = next((r for r in self.refunds if str(r.id) == ident), None)
        txn = self._txn(str(refund.tx_id), key) if refund is not None else None
        if refund is None or txn is None:
            return _error(404, "Refund not found")
        return _json(200, {"status": "success", "message": "Refund fetched", "data": refund.wire(txn)})

    def complete_refunds(self) -> list[Outgoing]:
        """Flutterwave finishes every pending refund; the webhook of each (sent to a dashboard URL when set)."""
        done = []
        for refund in self.refunds:
            if refund.status == "pending":
                refund.status = "completed"
                outgoing = self.refund_webhook(refund)
                self._send(outgoing)
                done.append(outgoing)
        return done

    # --- the hosted checkout page ---------------------------------------------------------------------------------

    def _checkout(self, method: str, tail: str, query: Mapping[str, str], origin: str) -> Answer:
        link_id, _, action = tail.partition("/")
        txn = self.by_link(link_id)
        if txn is None:
            return unknown_page("payment link")
        channel = query.get("channel") or txn.payment_options.split(",")[0]
        return page_answer(
            method,
            action,
            noun="payment link",
            page=lambda: checkout_page_of(
                CHECKOUT_PREFIX + link_id,
                txn.tx_ref,
                _number(txn.amount),
                txn.currency,
                txn.payment_options,
                self.merchants[txn.key].test,
            ),
            outcomes={"pay": "successful", "fail": "failed", "abandon": "cancelled"},
            used=lambda chosen: txn.status != "pending" and chosen != "abandon",
            settle=lambda outcome: self.settle(txn, outcome, payment_type=channel),
        )

    # --- in process ----------------------------------------------------------------------------------------------

    def mock_transport(self) -> httpx.MockTransport:
        return mock_transport(self)
