"""Corefy's Commerce private API, as it travels, free of I/O (the simulator imports it): paths, amounts at the edge,
JSON:API documents, payment invoices, refunds, errors, and the callbacks' signature. Where each fact comes from, and
which are unconfirmed (read tolerantly here), is in SOURCES.md.

- Every request is authenticated with HTTP Basic (:mod:`payments.corefy.signature`); the key decides whether the
  request is live or test; the API host is issued by Corefy's manager.
- ``POST /api/payment-invoices`` ``{"data": {"type": "payment-invoices", "attributes": {reference_id, amount,
  currency, service?, description, test_mode, return_url, return_urls, callback_url, customer, metadata}}}``
  answers 201 with the invoice: ``{"data": {"type": "payment-invoices", "id": "cpi_…", "attributes": {status,
  resolution, amount, currency, reference_id, processed_amount, flow: "hpp", flow_data: {action, method, params},
  hpp_url?, test_mode, created, processed, …}}}``. The hosted payment page is ``hpp_url``, else ``flow_data.action``.
- ``GET /api/payment-invoices/{id}`` answers the invoice; ``GET /api/payment-invoices?filter[reference_id]=`` a list.
- ``POST /api/payment-invoices/{id}/refund`` ``{"data": {"type": "refund", "attributes": {invoiceId, amount,
  reference_id, description}}}`` answers a refund ``{"data": {"type": "refunds", "id": "ref_…", "attributes":
  {reference_id, status, amount, currency, created}}}``; ``GET /api/refunds/{id}`` fetches one.
- Errors are JSON:API ``{"errors": [{"status", "title", "detail"}]}`` (or a ``message``), with a 4xx/5xx status.
- A callback is the object itself (an invoice or a refund) as the API tells it, posted to the ``callback_url``,
  signed in ``X-Signature`` (:mod:`payments.corefy.signature`). Callbacks may arrive duplicated and out of order.

Amounts are JSON numbers of major units (``420``, ``10.5``): read through their decimal text, refusing more decimals
than the currency has; never a float's arithmetic."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from core.money import Money
from payments.base import InvalidCallback
from payments.json_fields import amount_in as amount_in
from payments.json_fields import iso_time, load_json, optional_text, required_text

INVOICES_PATH: Final = "/api/payment-invoices"
INVOICE_PATH: Final = "/api/payment-invoices/{id}"
REFUND_PATH: Final = "/api/payment-invoices/{id}/refund"
REFUND_FETCH_PATH: Final = "/api/refunds/{id}"
REFERENCE_FILTER: Final = "filter[reference_id]"

INVOICE_TYPE: Final = "payment-invoices"
REFUND_TYPE: Final = "refunds"

# Corefy's words for an invoice, as facts (SOURCES.md). Every word after "processed" was paid first: refunds of it
# are told by their own objects, so an invoice that reads "refunded" is still the payment that was made.
PAID_STATUSES: Final = frozenset(
    {
        "processed",
        "partially_processed",
        "refunding",
        "refund_pending",
        "refund_error",
        "refund_failed",
        "partially_refunded",
        "refunded",
    }
)
FAILED_STATUSES: Final = frozenset({"process_failed"})
EXPIRED_STATUSES: Final = frozenset({"expired"})
CANCELLED_STATUSES: Final = frozenset({"terminated"})
# Corefy's words for a refund, in the contract's (payments.base.RefundState); another word moves nothing.
REFUND_STATES: Final = {
    "processed": "processed",
    "refunded": "processed",
    "created": "pending",
    "processing": "processing",
    "process_pending": "processing",
    "refunding": "processing",
    "refund_pending": "processing",
    "process_failed": "failed",
    "refund_failed": "failed",
    "failed": "failed",
}


def is_paid(status: str) -> bool:
    return status in PAID_STATUSES


# --- amounts ---------------------------------------------------------------------------------------------------


def amount_out(amount: Money) -> int | float:
    """Our minor units as Corefy's major units: a JSON integer when whole, else a number with the currency's places
    (Corefy's documents show amounts as numbers, ``100.55``: SOURCES.md)."""
    major = amount.major()
    if major == major.to_integral_value():
        return int(major)
    return float(major)  # exact to the currency's places: its repr is the shortest decimal that reads back


# --- reading JSON ----------------------------------------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    """Corefy's times are Unix seconds (``"created": 1592232050``); an ISO text is read too."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return iso_time(value)


@dataclass(frozen=True, slots=True)
class Resource:
    """One JSON:API resource: ``{"type", "id", "attributes"}``."""

    type: str
    id: str
    attributes: Mapping[str, Any]
    raw: Mapping[str, Any]


def resource(data: Any, where: str = "data") -> Resource:
    if not isinstance(data, Mapping):
        raise InvalidCallback(f"{where} is not a JSON object")
    attributes = data.get("attributes")
    if not isinstance(attributes, Mapping):
        raise InvalidCallback(f"{where}.attributes is not a JSON object")
    return Resource(
        required_text(data, "type", where).lower(), required_text(data, "id", where), attributes, dict(data)
    )


def document(body: bytes, where: str = "response") -> Any:
    """The ``data`` of a JSON:API document (an object, or a list for a filtered fetch)."""
    raw = load_json(body, where)
    if "data" not in raw:
        raise InvalidCallback(f"{where} has no data")
    return raw["data"]


def error_message(body: bytes) -> str:
    """What an error answer says: its errors' titles and details, or its message; "" when it says nothing."""
    try:
        raw = load_json(body, "error")
    except InvalidCallback:
        return ""
    errors = raw.get("errors")
    parts: list[str] = []
    if isinstance(errors, list):
        for item in errors[:3]:
            if isinstance(item, Mapping):
                words = [optional_text(item.get(k)) for k in ("title", "detail", "code")]
                parts.append(": ".join(w for w in words if w))
    message = optional_text(raw.get("message"))
    if message:
        parts.append(message)
    return "; ".join(p for p in parts if p)


# --- invoices --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invoice:
    """A payment invoice as the API and its callbacks tell it. ``status`` is Corefy's word (kept when new);
    ``processed_amount`` what was collected, when Corefy says."""

    id: str
    reference_id: str
    status: str
    amount: Money
    processed_amount: Money | None = None
    resolution: str | None = None
    page_url: str | None = None
    test_mode: bool | None = None
    payment_method: str | None = None
    created: datetime | None = None
    processed: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def received(self) -> Money:
        """The money Corefy says arrived: its processed amount, else the invoice's."""
        return self.processed_amount if self.processed_amount is not None else self.amount


def _page_url(attributes: Mapping[str, Any]) -> str | None:
    """The hosted payment page: ``hpp_url`` when the answer has it, else ``flow_data.action`` to open with GET."""
    for candidate in (attributes.get("hpp_url"), attributes.get("payment_page_url")):
        if isinstance(candidate, str) and candidate.startswith(("https://", "http://")):
            return candidate
    flow = attributes.get("flow_data")
    if isinstance(flow, Mapping):
        action, method = flow.get("action"), str(flow.get("method") or "GET").upper()
        if isinstance(action, str) and action.startswith(("https://", "http://")) and method == "GET":
            return action
    return None


def _method(data: Mapping[str, Any], attributes: Mapping[str, Any]) -> str | None:
    relationships = data.get("relationships")
    if isinstance(relationships, Mapping):
        method = relationships.get("payment-method")
        inner = method.get("data") if isinstance(method, Mapping) else None
        if isinstance(inner, Mapping):
            return optional_text(inner.get("id"))
    return optional_text(attributes.get("payment_method"))


def parse_invoice(data: Any, where: str = "data") -> Invoice:
    item = resource(data, where)
    if item.type != INVOICE_TYPE:
        raise InvalidCallback(f"{where}.type is {item.type[:40]}, not {INVOICE_TYPE}")
    attributes = item.attributes
    currency = required_text(attributes, "currency", f"{where}.attributes").upper()
    processed = attributes.get("processed_amount")
    test_mode = attributes.get("test_mode")
    return Invoice(
        id=item.id,
        reference_id=required_text(attributes, "reference_id", f"{where}.attributes"),
        status=required_text(attributes, "status", f"{where}.attributes").lower(),
        amount=amount_in(attributes.get("amount"), currency, f"{where}.attributes.amount"),
        processed_amount=None
        if processed is None
        else amount_in(processed, currency, f"{where}.attributes.processed_amount"),
        resolution=optional_text(attributes.get("resolution")),
        page_url=_page_url(attributes),
        test_mode=test_mode if isinstance(test_mode, bool) else None,
        payment_method=_method(item.raw, attributes),
        created=_time(attributes.get("created")),
        processed=_time(attributes.get("processed")),
        raw=item.raw,
    )


def parse_invoices(data: Any, where: str = "data") -> list[Invoice]:
    """A filtered fetch's list (a single object is read as a list of one)."""
    items = data if isinstance(data, list) else [data]
    return [parse_invoice(item, f"{where}[{index}]") for index, item in enumerate(items)]


def invoice_body(
    *,
    reference_id: str,
    amount: Money,
    description: str,
    test_mode: bool,
    return_url: str,
    callback_url: str,
    customer: Mapping[str, str],
    metadata: Mapping[str, str],
    service: str | None,
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "reference_id": reference_id,
        "amount": amount_out(amount),
        "currency": amount.currency,
        "description": description,
        "test_mode": test_mode,
        "return_url": return_url,
        "return_urls": {"success": return_url, "fail": return_url, "pending": return_url},
        "callback_url": callback_url,
        "customer": dict(customer),
        "metadata": dict(metadata),
    }
    if service:
        attributes["service"] = service
    return {"data": {"type": INVOICE_TYPE, "attributes": attributes}}


# --- refunds ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    status: str  # Corefy's word
    amount: Money
    reference_id: str | None = None
    invoice_id: str | None = None
    created: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        """The contract's word for it (:class:`payments.base.RefundState`), or Corefy's own when it is new."""
        return REFUND_STATES.get(self.status, self.status)


def parse_refund(data: Any, currency: str, where: str = "data") -> Refund:
    """A refund object; in its own currency when it names one, else its payment's (which the caller knows)."""
    item = resource(data, where)
    if item.type not in (REFUND_TYPE, "refund"):
        raise InvalidCallback(f"{where}.type is {item.type[:40]}, not {REFUND_TYPE}")
    attributes = item.attributes
    named = optional_text(attributes.get("currency"))
    invoice = optional_text(attributes.get("invoiceId")) or optional_text(attributes.get("invoice_id"))
    return Refund(
        id=item.id,
        status=required_text(attributes, "status", f"{where}.attributes").lower(),
        amount=amount_in(attributes.get("amount"), (named or currency).upper(), f"{where}.attributes.amount"),
        reference_id=optional_text(attributes.get("reference_id")),
        invoice_id=invoice,
        created=_time(attributes.get("created")),
        raw=item.raw,
    )


def refund_body(invoice_id: str, amount: Money, reference_id: str, description: str) -> dict[str, Any]:
    attributes = {
        "invoiceId": invoice_id,
        "amount": amount_out(amount),
        "reference_id": reference_id,
        "description": description[:200],
    }
    return {"data": {"type": "refund", "attributes": attributes}}


def refund_reference(refund_id: int) -> str:
    """Our refund as Corefy's ``reference_id`` (required, unique per operation on the merchant's side)."""
    return f"dukabot-refund-{refund_id}"


def refund_id_of(reference_id: str | None) -> int | None:
    """Our refund's id from a ``reference_id`` we made; None for anything else."""
    prefix = "dukabot-refund-"
    if reference_id and reference_id.startswith(prefix) and reference_id[len(prefix) :].isdigit():
        return int(reference_id[len(prefix) :])
    return None


# --- callbacks -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallbackBody:
    type: str
    data: Mapping[str, Any]
    raw: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return self.type


def parse_callback_body(body: bytes) -> CallbackBody:
    """The body of a callback whose signature was checked (:func:`payments.corefy.signature.is_signed`)."""
    raw = load_json(body, "callback")
    data = raw.get("data")
    if not isinstance(data, Mapping):
        raise InvalidCallback("callback has no data object")
    kind = optional_text(data.get("type"))
    if not kind:
        raise InvalidCallback("callback data has no type")
    return CallbackBody(kind.lower(), data, raw)
