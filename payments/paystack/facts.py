"""From Paystack's words to dukabot's facts: outcome, Money, transaction id, reason, channel and an
idempotency key.

The same function serves a verified webhook and a verify/refund-fetch answer, so a payment learnt both ways
carries the same event key (``charge.success:<reference>``) and ``apply_event`` applies it once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.money import Money
from payments.base import InvalidCallback, Outcome, ProviderEvent, RefundResult
from payments.paystack.limits import AmountNotAllowed, from_subunits
from payments.paystack.signature import require_valid
from payments.paystack.wire import (
    ChargeEvent,
    Refund,
    RefundEvent,
    RefundStatus,
    Transaction,
    TransactionStatus,
    UnknownEvent,
    WebhookEvent,
    parse_webhook,
)

PROVIDER = "paystack"

CHARGE = "charge"
REFUND = "refund"

# Paystack transaction status -> (outcome, final). "final" means Paystack will not change its mind by itself.
# "abandoned" is not final: it only says the customer has not completed yet; the link can still be paid until
# the payment expires on our side, so the reconciler should treat it as cancelled only once the payment's time
# is up.
_CHARGE_MAP: dict[str, tuple[Outcome, bool]] = {
    TransactionStatus.SUCCESS: (Outcome.PAID, True),
    TransactionStatus.FAILED: (Outcome.FAILED, True),
    TransactionStatus.ABANDONED: (Outcome.CANCELLED, False),
    TransactionStatus.ONGOING: (Outcome.PENDING, False),
    TransactionStatus.PENDING: (Outcome.PENDING, False),
    TransactionStatus.PROCESSING: (Outcome.PENDING, False),
    TransactionStatus.QUEUED: (Outcome.PENDING, False),
    TransactionStatus.REVERSED: (Outcome.REFUNDED, True),
}

_REFUND_MAP: dict[str, tuple[Outcome, bool]] = {
    RefundStatus.PENDING: (Outcome.PENDING, False),
    RefundStatus.PROCESSING: (Outcome.PENDING, False),
    RefundStatus.NEEDS_ATTENTION: (Outcome.PENDING, False),
    RefundStatus.PROCESSED: (Outcome.REFUNDED, True),
    RefundStatus.FAILED: (Outcome.FAILED, True),
}

_CHARGE_REASONS: dict[str, str] = {
    TransactionStatus.SUCCESS: "paid",
    TransactionStatus.FAILED: "the payment failed",
    TransactionStatus.ABANDONED: "the customer did not complete the payment",
    TransactionStatus.ONGOING: "waiting for the customer (OTP, transfer…)",
    TransactionStatus.PENDING: "pending at Paystack",
    TransactionStatus.PROCESSING: "being processed",
    TransactionStatus.QUEUED: "queued",
    TransactionStatus.REVERSED: "refunded or charged back",
}

_REFUND_REASONS: dict[str, str] = {
    RefundStatus.PENDING: "refund queued",
    RefundStatus.PROCESSING: "refund being processed",
    RefundStatus.NEEDS_ATTENTION: "refund needs the customer's bank details",
    RefundStatus.PROCESSED: "refund processed",
    RefundStatus.FAILED: "refund failed; the amount went back to the merchant's balance",
}


@dataclass(frozen=True, slots=True)
class PaystackFacts:
    """What the adapter needs from one Paystack answer or event.

    ``kind`` is ``"charge"`` (the payment itself) or ``"refund"`` (then ``amount`` is the refunded amount and
    ``outcome`` is about the refund: PENDING, REFUNDED or FAILED). ``status`` is Paystack's own word, also
    used as ``reason_code``."""

    kind: str
    event_key: str
    reference: str
    outcome: Outcome
    final: bool
    amount: Money
    status: str
    transaction_id: str | None = None
    refund_id: str | None = None
    reason: str | None = None
    channel: str | None = None
    domain: str | None = None
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reason_code(self) -> str:
        """Paystack's status word; for refunds ``refund.<status>`` so it never reads as a charge status."""
        return self.status if self.kind == CHARGE else f"refund.{self.status}"

    def to_provider_event(self) -> ProviderEvent:
        return ProviderEvent(
            provider=PROVIDER,
            event_key=self.event_key,
            payment_reference=self.reference,
            outcome=self.outcome,
            amount=self.amount,
            provider_txn_id=self.transaction_id,
            reason=self.reason,
            reason_code=self.reason_code,
            occurred_at=self.occurred_at,
            raw=self.raw,
        )


def _money(subunits: int, currency: str) -> Money:
    try:
        return from_subunits(subunits, currency)
    except AmountNotAllowed:
        raise InvalidCallback(f"unsupported currency {currency!r}") from None


def charge_event_key(reference: str, status: str = TransactionStatus.SUCCESS) -> str:
    """``charge.<status>:<reference>``; for ``success`` this is exactly the webhook's event name and
    reference."""
    return f"charge.{status}:{reference}"


def refund_event_key(refund: Refund, *, reference: str | None = None) -> str:
    """``refund.<status>:<payment reference>:<refund id>`` (falls back to Paystack's refund_reference)."""
    fallback = refund.refund_reference or f"amount-{refund.amount}"
    ident = str(refund.id) if refund.id is not None else fallback
    txn = reference or refund.transaction_reference or str(refund.transaction_id or "-")
    return f"refund.{refund.status}:{txn}:{ident}"


def transaction_facts(txn: Transaction) -> PaystackFacts:
    """Facts from a transaction (verify answer or ``charge.success`` data)."""
    outcome, final = _CHARGE_MAP.get(txn.status, (Outcome.PENDING, False))
    default = _CHARGE_REASONS.get(txn.status, f"unknown Paystack status {txn.status!r}")
    reason = txn.gateway_response or txn.message or default
    return PaystackFacts(
        kind=CHARGE,
        event_key=charge_event_key(txn.reference, txn.status),
        reference=txn.reference,
        outcome=outcome,
        final=final,
        amount=_money(txn.amount, txn.currency),
        status=txn.status,
        transaction_id=str(txn.id) if txn.id is not None else None,
        reason=reason,
        channel=txn.channel,
        domain=txn.domain,
        occurred_at=txn.paid_at or txn.created_at,
        raw=txn.raw,
    )


def refund_facts(refund: Refund, *, payment_reference: str | None = None) -> PaystackFacts:
    """Facts from a refund (create/fetch answer or ``refund.*`` data). A fetched refund may carry only the
    transaction id; pass the payment's reference then."""
    reference = refund.transaction_reference or payment_reference
    if reference is None:
        raise InvalidCallback("refund carries no transaction reference")
    outcome, final = _REFUND_MAP.get(refund.status, (Outcome.PENDING, False))
    return PaystackFacts(
        kind=REFUND,
        event_key=refund_event_key(refund, reference=reference),
        reference=reference,
        outcome=outcome,
        final=final,
        amount=_money(refund.amount, refund.currency),
        status=refund.status,
        transaction_id=str(refund.transaction_id) if refund.transaction_id is not None else None,
        refund_id=str(refund.id) if refund.id is not None else refund.refund_reference,
        reason=_REFUND_REASONS.get(refund.status, f"unknown refund status {refund.status!r}"),
        domain=refund.domain,
        occurred_at=refund.updated_at or refund.created_at,
        raw=refund.raw,
    )


def webhook_facts(event: WebhookEvent) -> PaystackFacts | None:
    """Facts from a parsed webhook (``raw`` is the whole body); None for events the payment flow does not
    use (disputes, transfers, …)."""
    if isinstance(event, ChargeEvent):
        return replace(transaction_facts(event.transaction), raw=event.raw)
    if isinstance(event, RefundEvent):
        return replace(refund_facts(event.refund), raw=event.raw)
    return None


def events_from_webhook(body: bytes, headers: Mapping[str, str], secret_key: str) -> list[ProviderEvent]:
    """The whole inbound check for the webhook route: signature over the raw bytes (InvalidCallback 401),
    then parsing (InvalidCallback 400), then facts. Unknown events give ``[]``: answer them 200."""
    require_valid(body, headers, secret_key)
    facts = webhook_facts(parse_webhook(body))
    return [] if facts is None else [facts.to_provider_event()]


def webhook_event_key(event: WebhookEvent) -> str:
    """The idempotency key of any webhook, including those we do not act on."""
    if isinstance(event, ChargeEvent):
        return charge_event_key(event.transaction.reference, event.transaction.status)
    if isinstance(event, RefundEvent):
        return refund_event_key(event.refund)
    return unknown_event_key(event)


def unknown_event_key(event: UnknownEvent) -> str:
    data = event.data
    for key in ("reference", "id", "transaction_reference", "code"):
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return f"{event.event}:{value}"
    digest = hashlib.sha256(json.dumps(event.raw, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return f"{event.event}:sha256-{digest}"


def refund_result(facts: PaystackFacts) -> RefundResult:
    """Refund facts in the contract's one shape (:class:`payments.base.RefundResult`). Paystack names a refund by
    its ``id`` and, in webhooks, often only by its ``refund_reference``: the id is the refund's id, the reference
    its alias."""
    data = facts.raw.get("data") if "event" in facts.raw else facts.raw
    data = data if isinstance(data, Mapping) else {}
    named = data.get("id")
    reference = data.get("refund_reference")
    if reference:
        alias: str | None = str(reference)
    else:
        alias = facts.refund_id if named is None else None
    return RefundResult(
        event_key=facts.event_key,
        status=facts.status,
        amount=facts.amount,
        provider_refund_id=str(named) if named is not None else None,
        alias=alias,
        payment_reference=facts.reference,
        provider_txn_id=facts.transaction_id,
        reason=facts.reason,
        occurred_at=facts.occurred_at,
        raw=facts.raw,
    )
