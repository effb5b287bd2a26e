"""A Corefy Commerce private API that runs on this machine and answers as Corefy does from the outside.

It knows merchants by commerce account id and API key (HTTP Basic; a test key makes test invoices), answers
``POST /api/payment-invoices`` with the invoice and its hosted payment page (``flow_data.action``), fetches invoices
by id and by ``filter[reference_id]``, refunds (one per ``reference_id``: asked twice, it is the same refund) and
their fetch, in JSON:API documents and errors; it serves the hosted payment page (pay, fail, abandon), sends the
browser back to the invoice's return URL, and builds (and, for a merchant whose callbacks it delivers, sends to the
invoice's ``callback_url``) every status change's callback, signed in ``X-Signature`` with the key of the invoice's
mode. A paid invoice is told twice, ``processing`` then ``processed``, so a test can deliver them in either order.

Run it as a real server (:func:`sandbox.hosted.build_app`) or in process (:meth:`mock_transport`)."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from core.clock import Clock, SystemClock
from payments.corefy.signature import SIGNATURE_HEADER, credentials, sign
from payments.corefy.wire import INVOICE_TYPE
from sandbox.corefy.checkout import payment_page
from sandbox.corefy.state import PAGE_PREFIX, Outgoing, SimInvoice, SimRefund
from sandbox.hosted import Answer, Deliveries, mock_transport, page_answer, unknown_page

_FINAL = frozenset({"processed", "process_failed", "expired", "terminated", "refunded", "partially_refunded"})


@dataclass
class Merchant:
    account_id: str
    api_key: str
    secret_key: str  # signs the callbacks of invoices made with this key
    test: bool
    deliver: bool = False  # post callbacks to the invoice's callback_url by itself


def _json(status: int, payload: Any) -> Answer:
    return Answer(status, json.dumps(payload).encode(), "application/vnd.api+json")


def _error(status: int, title: str, detail: str = "") -> Answer:
    return _json(status, {"errors": [{"status": str(status), "title": title, "detail": detail or title}]})


class CorefySimulator:
    def __init__(self, *, clock: Clock | None = None, refund_status: str = "processed") -> None:
        self.clock: Clock = clock or SystemClock()
        self.refund_status = refund_status  # a new refund: "processed" as documented, or "processing"
        self.merchants: dict[tuple[str, str], Merchant] = {}
        self.invoices: list[SimInvoice] = []
        self.refunds: list[SimRefund] = []
        self.sent: list[Outgoing] = []  # every callback built, delivered or not
        self.faults: dict[str, list[int]] = {}  # path prefix -> statuses to answer next, in order
        self.origin = "http://corefy.invalid"  # the last host it was reached at: the hosted pages' links
        self._serial = itertools.count(1)
        self._deliveries = Deliveries()  # Corefy retries a failed callback; the shop's reconciler covers a lost one

    # --- the merchant's account, and what a test arranges -------------------------------------------------------

    def add_merchant(
        self, account_id: str, api_key: str, secret_key: str, *, test: bool = False, deliver: bool = False
    ) -> Merchant:
        merchant = Merchant(account_id, api_key, secret_key, test, deliver)
        self.merchants[(account_id, api_key)] = merchant
        return merchant

    def fail_next(self, path_prefix: str, *statuses: int) -> None:
        """Answer the next requests under ``path_prefix`` with these statuses (a 500, a 429…), then normally."""
        self.faults.setdefault(path_prefix, []).extend(statuses)

    def last(self) -> SimInvoice:
        if not self.invoices:
            raise LookupError("Corefy has no invoice: was the payment started?")
        return self.invoices[-1]

    def by_id(self, invoice_id: str) -> SimInvoice | None:
        return next((invoice for invoice in self.invoices if invoice.id == invoice_id), None)

    def _merchant_of(self, invoice: SimInvoice) -> Merchant:
        return next(m for m in self.merchants.values() if m.api_key == invoice.key)

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    # --- the customer on the hosted payment page --------------------------------------------------------------------

    def settle(self, invoice: SimInvoice, outcome: str, *, received: Decimal | None = None) -> str:
        """The customer pays (``processed``; ``received`` for another sum collected), is declined (``process_failed``)
        or abandons the page (``terminated``). Each status change is told in a callback: a payment goes through
        ``processing`` first. Returns the URL the browser is sent back to."""
        if invoice.status in ("created", "processing"):
            if outcome in ("processed", "process_failed"):
                self._change(invoice, "processing")
            if outcome == "processed":
                invoice.processed, invoice.processed_amount = self._now(), received or invoice.amount
            if outcome == "process_failed":
                invoice.resolution = "card_declined"
            self._change(invoice, outcome)
        return invoice.return_url

    def expire(self, invoice: SimInvoice) -> None:
        """The invoice's lifetime ends unpaid (the customer never came back)."""
        if invoice.status in ("created", "processing"):
            self._change(invoice, "expired")

    def _change(self, invoice: SimInvoice, status: str) -> None:
        invoice.status = status
        self._send(self.callback(invoice), invoice)

    # --- callbacks ------------------------------------------------------------------------------------------------

    def callback(self, invoice: SimInvoice, *, secret: str | None = None) -> Outgoing:
        """The callback of ``invoice`` as it stands, signed with its mode's secret key (or ``secret``: someone
        else's)."""
        merchant = self._merchant_of(invoice)
        body = json.dumps({"data": invoice.wire(self.origin)}).encode()
        return self._signed(invoice.callback_url, body, secret or merchant.secret_key, invoice.status)

    def refund_callback(self, refund: SimRefund) -> Outgoing:
        invoice = self.by_id(refund.invoice_id)
        assert invoice is not None
        body = json.dumps({"data": refund.wire()}).encode()
        return self._signed(invoice.callback_url, body, self._merchant_of(invoice).secret_key, refund.status)

    @staticmethod
    def _signed(url: str, body: bytes, secret: str, status: str) -> Outgoing:
        return Outgoing(url, body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}, status)

    def _send(self, outgoing: Outgoing, invoice: SimInvoice) -> None:
        self.sent.append(outgoing)
        if not self._merchant_of(invoice).deliver:
            return  # the test delivers it, when and how often it likes
        self._deliveries.post(outgoing.url, outgoing.body, outgoing.headers)

    async def drain(self) -> None:
        await self._deliveries.drain()

    async def close(self) -> None:
        await self._deliveries.close()

    # --- the API --------------------------------------------------------------------------------------------------

    async def handle(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, origin: str
    ) -> Answer:
        self.origin = origin
        if path.startswith(PAGE_PREFIX):
            return self._page(method, path.removeprefix(PAGE_PREFIX))
        for prefix, statuses in self.faults.items():
            if path.startswith(prefix) and statuses:
                status = statuses.pop(0)
                return _error(status, "Too Many Requests" if status == 429 else "Simulated fault")
        given = credentials(headers.get("authorization", ""))
        merchant = self.merchants.get(given) if given else None
        if merchant is None:
            return _error(401, "Unauthorized", "Invalid credentials")
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "payment-invoices"] and parts[:2] != ["api", "refunds"]:
            return _error(404, "Not Found", f"No route for {method} {path}")
        if method == "POST" and parts == ["api", "payment-invoices"]:
            return self._create(merchant, body)
        if method == "GET" and parts == ["api", "payment-invoices"]:
            wanted = query.get("filter[reference_id]")
            found = [i for i in self.invoices if i.key == merchant.api_key and wanted in (None, i.reference_id)]
            return _json(200, {"data": [i.wire(self.origin) for i in found]})
        if method == "GET" and len(parts) == 3 and parts[1] == "payment-invoices":
            return self._fetched(self._invoice(parts[2], merchant))
        if method == "POST" and len(parts) == 4 and parts[1] == "payment-invoices" and parts[3] == "refund":
            return self._refund(self._invoice(parts[2], merchant), body)
        if method == "GET" and len(parts) == 3 and parts[1] == "refunds":
            return self._refund_fetch(parts[2], merchant)
        return _error(404, "Not Found", f"No route for {method} {path}")

    def _invoice(self, ident: str, merchant: Merchant) -> SimInvoice | None:
        return next((i for i in self.invoices if i.id == ident and i.key == merchant.api_key), None)

    def _fetched(self, invoice: SimInvoice | None) -> Answer:
        if invoice is None:
            return _error(404, "Not Found", "Payment invoice not found")
        return _json(200, {"data": invoice.wire(self.origin)})

    def _create(self, merchant: Merchant, body: bytes) -> Answer:
        try:
            data = json.loads(body)["data"]
            attributes = data["attributes"]
            if data.get("type") != INVOICE_TYPE:
                raise ValueError("type")
            reference_id, currency = str(attributes["reference_id"]), str(attributes["currency"]).upper()
            amount = Decimal(str(attributes["amount"]))
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return _error(422, "Unprocessable Entity", "data.attributes reference_id, amount and currency are required")
        if not amount.is_finite() or amount <= 0:
            return _error(422, "Unprocessable Entity", "amount must be positive")
        if any(i.reference_id == reference_id and i.key == merchant.api_key for i in self.invoices):
            return _error(422, "Unprocessable Entity", "reference_id has already been used")
        invoice = SimInvoice(
            id=f"cpi_{secrets.token_urlsafe(12)[:16]}",
            reference_id=reference_id,
            key=merchant.api_key,
            amount=amount,
            currency=currency,
            return_url=str(attributes.get("return_url") or ""),
            callback_url=str(attributes.get("callback_url") or ""),
            test_mode=merchant.test,  # the key decides, whatever the request says
            service=attributes.get("service"),
            created=self._now(),
        )
        self.invoices.append(invoice)
        self._send(self.callback(invoice), invoice)  # Corefy tells the invoice's creation too
        return _json(201, {"data": invoice.wire(self.origin)})

    def _refund(self, invoice: SimInvoice | None, body: bytes) -> Answer:
        if invoice is None:
            return _error(404, "Not Found", "Payment invoice not found")
        try:
            attributes = json.loads(body)["data"]["attributes"]
            amount = Decimal(str(attributes["amount"]))
            reference_id = attributes.get("reference_id")
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return _error(422, "Unprocessable Entity", "data.attributes.amount is required")
        if not isinstance(reference_id, str) or not reference_id:
            return _error(422, "Unprocessable Entity", "reference_id is required")
        same = next((r for r in self.refunds if r.reference_id == reference_id and r.invoice_id == invoice.id), None)
        if same is not None:  # one operation per reference_id on the merchant's side
            return _json(201, {"data": same.wire()})
        if invoice.status not in ("processed", "partially_refunded"):
            return _error(422, "Unprocessable Entity", "Only a processed invoice can be refunded")
        left = (invoice.processed_amount or invoice.amount) - invoice.refunded
        if not amount.is_finite() or amount <= 0 or amount > left:
            return _error(422, "Unprocessable Entity", "Refund amount exceeds what is left of the payment")
        invoice.refunded += amount
        refund = SimRefund(
            f"ref_{secrets.token_urlsafe(12)[:16]}",
            invoice.id,
            reference_id,
            amount,
            invoice.currency,
            self.refund_status,
            self._now(),
            str(attributes.get("description") or ""),
        )
        self.refunds.append(refund)
        if refund.status == "processed":
            self._refunded(invoice, refund)
        return _json(201, {"data": refund.wire()})

    def _refund_fetch(self, ident: str, merchant: Merchant) -> Answer:
        refund = next((r for r in self.refunds if r.id == ident), None)
        invoice = self._invoice(refund.invoice_id, merchant) if refund is not None else None
        if refund is None or invoice is None:
            return _error(404, "Not Found", "Refund not found")
        return _json(200, {"data": refund.wire()})

    def complete_refunds(self) -> list[Outgoing]:
        """Corefy finishes every refund still on its way; the callback of each."""
        done = []
        for refund in self.refunds:
            if refund.status != "processed":
                refund.status = "processed"
                invoice = self.by_id(refund.invoice_id)
                assert invoice is not None
                outgoing = self._refunded(invoice, refund)
                done.append(outgoing)
        return done

    def _refunded(self, invoice: SimInvoice, refund: SimRefund) -> Outgoing:
        """A refund made: the invoice reads refunded (in whole or in part) and the refund's callback goes out."""
        whole = invoice.refunded >= (invoice.processed_amount or invoice.amount)
        invoice.status = "refunded" if whole else "partially_refunded"
        outgoing = self.refund_callback(refund)
        self._send(outgoing, invoice)
        return outgoing

    # --- the hosted payment page ----------------------------------------------------------------------------------

    def _page(self, method: str, tail: str) -> Answer:
        invoice_id, _, action = tail.partition("/")
        invoice = self.by_id(invoice_id)
        if invoice is None:
            return unknown_page("payment page")
        return page_answer(
            method,
            action,
            noun="payment page",
            page=lambda: payment_page(PAGE_PREFIX + invoice.id, invoice, self._merchant_of(invoice).test),
            outcomes={"pay": "processed", "fail": "process_failed", "abandon": "terminated"},
            used=lambda _: invoice.status in _FINAL,
            settle=lambda outcome: self.settle(invoice, outcome),
        )

    # --- in process ----------------------------------------------------------------------------------------------

    def mock_transport(self) -> httpx.MockTransport:
        return mock_transport(self)
