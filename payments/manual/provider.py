"""Manual payments: the customer pays outside (bank, till, cash) and uploads a proof; the merchant decides.

The customer's proof and the merchant's decision are events of this provider, applied by ``apply_event`` like any
callback. The decision's event key is the same for approve and reject, so only the first decision on a proof counts,
however many admins tap at once.
"""

from __future__ import annotations

from core.db.tables import Payment, Proof
from core.money import Money
from payments.base import Outcome, ProviderEvent

NAME = "manual"


def submitted(payment: Payment, proof: Proof) -> ProviderEvent:
    return ProviderEvent(
        provider=NAME,
        event_key=f"proof:{proof.id}:submitted",
        payment_reference=payment.reference,
        outcome=Outcome.PROOF_SUBMITTED,
        reason=proof.reference_text,
    )


def approved(payment: Payment, proof: Proof, admin_id: int) -> ProviderEvent:
    return ProviderEvent(
        provider=NAME,
        event_key=f"proof:{proof.id}:decision",
        payment_reference=payment.reference,
        outcome=Outcome.PAID,
        amount=Money(payment.amount_minor, payment.currency),
        provider_txn_id=(proof.reference_text or f"proof-{proof.id}")[:64],
        raw={"admin": admin_id, "proof": proof.id},
    )


def rejected(payment: Payment, proof: Proof, admin_id: int, reason: str) -> ProviderEvent:
    return ProviderEvent(
        provider=NAME,
        event_key=f"proof:{proof.id}:decision",
        payment_reference=payment.reference,
        outcome=Outcome.REJECTED,
        reason=reason,
        raw={"admin": admin_id, "proof": proof.id},
    )
