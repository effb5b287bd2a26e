"""Payments made inside the chat (Telegram's native invoices): the two facts the chat brings, free of any transport,
and what a provider's chat step answers them with. Re-exported by :mod:`payments.chat`.

A chat-invoice provider sends an invoice whose payload names it and our payment (:func:`payload_for`). Before the
customer's money moves, Telegram asks the bot whether the order can still be paid (a pre-checkout query, answered
within 10 seconds, a refusal in human words); once it moved, the chat carries the payment itself (Telegram's
``successful_payment`` message). Both reach the provider named in the payload (:func:`provider_of`); the transport
answers the query with the reply's :class:`PreCheckoutAnswer` after the update's transaction commits."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The payload is 1-128 bytes (Bot API): "<provider>:<payment reference>", both short ASCII.
PAYLOAD_LIMIT = 128


class InvoiceStage(enum.StrEnum):
    PRE_CHECKOUT = "pre_checkout"  # Telegram asks whether the order can still be paid
    PAID = "paid"  # the money moved: Telegram's successful_payment


@dataclass(frozen=True, slots=True)
class InvoiceEvent:
    """One fact about an invoice of ours, as the chat brings it. ``total_amount`` is in the currency's smallest
    units, as Telegram gives it (Stars for XTR). ``query_id``: the pre-checkout query to answer; ``charge_id`` and
    ``provider_charge_id``: Telegram's and the card provider's ids of a payment that was made."""

    stage: InvoiceStage
    payload: str
    currency: str
    total_amount: int
    query_id: str | None = None
    charge_id: str | None = None
    provider_charge_id: str | None = None


@dataclass(frozen=True, slots=True)
class PreCheckoutAnswer:
    """The answer owed to a pre-checkout query: ``ok``, or a refusal with the customer's words (``error``)."""

    query_id: str
    ok: bool
    error: str | None = None


def payload_for(provider: str, payment_reference: str) -> str:
    payload = f"{provider}:{payment_reference}"
    if len(payload.encode()) > PAYLOAD_LIMIT:
        raise ValueError("an invoice payload is at most 128 bytes")
    return payload


def provider_of(payload: str) -> tuple[str, str] | None:
    """``(provider, payment reference)`` of a payload of ours; None for anything else."""
    provider, sep, reference = payload.partition(":")
    if not sep or not provider or not reference:
        return None
    return provider, reference
