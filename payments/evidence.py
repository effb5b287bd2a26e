"""What a merchant checks a payment against on the provider's statement: the receipt number, the phone that paid,
the amount and the time, and the channel when the provider names one.

None of it is kept in a column of its own: it is read back from the provider's payload recorded with the event that
brought the money (``payment_events.raw``), so the merchant sees what the provider said, not what we assumed (the
phone that paid can differ from the phone the customer gave). A payload that does not parse gives what it can.
Each provider reads its own payloads (``ProviderEntry.evidence``, in its folder); a provider without a reader gives
what the event itself says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import utc
from core.db.tables import PaymentEvent
from core.money import Money
from payments.base import Outcome
from payments.providers import entry


@dataclass(frozen=True, slots=True)
class Evidence:
    receipt: str | None = None  # the provider's transaction id (a receipt number)
    phone: str | None = None  # the paying phone, E.164 ("+254708374149") or as masked by the provider
    payer: str | None = None  # the payer's name, as a Paybill or Till payment carries it ("JOHN DOE")
    amount: Money | None = None
    at: datetime | None = None  # when the provider says the money moved (UTC); else when we heard of it
    channel: str | None = None  # the provider's word for how the customer paid ("card", "mobile_money")


def money_event(events: list[PaymentEvent]) -> PaymentEvent | None:
    """The event that brought the payment's money: the last "paid" one that moved it or held it for review."""
    paid = [e for e in events if e.outcome == Outcome.PAID and e.result in ("applied", "needs_review")]
    return max(paid, key=lambda e: (utc(e.received_at), e.id)) if paid else None


def of(event: PaymentEvent) -> Evidence:
    amount = Money(event.amount_minor, event.currency) if event.amount_minor is not None and event.currency else None
    told = Evidence(receipt=event.provider_txn_id, amount=amount, at=utc(event.received_at))
    raw = event.raw if isinstance(event.raw, Mapping) else {}
    declared = entry(event.provider)
    if declared is None or declared.evidence is None:
        return told
    return declared.evidence()(raw, told)


EvidenceReader = Callable[[Mapping[str, Any], Evidence], Evidence]  # a provider's: its payload, what the event says
