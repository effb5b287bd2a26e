"""The payment and order states, and which outcome may move a payment from which state.

Transitions only move forward. The service turns each allowed move into a conditional UPDATE
(``WHERE status IN (...)``), so two workers racing on the same payment cannot both move it.
"""

from __future__ import annotations

import enum

from payments.base import Outcome


class PaymentStatus(enum.StrEnum):
    CREATED = "created"
    PENDING = "pending"
    AWAITING_PROOF = "awaiting_proof"
    UNDER_REVIEW = "under_review"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NEEDS_REVIEW = "needs_review"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class OrderStatus(enum.StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    NEEDS_REVIEW = "needs_review"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


P = PaymentStatus

OPEN_PAYMENT = frozenset({P.CREATED, P.PENDING, P.AWAITING_PROOF, P.UNDER_REVIEW})
# A success that arrives after we gave up (expired, failed, cancelled) is still money received: it is paid and the
# merchant is told. Nothing moves a payment out of paid except a refund.
CAN_BE_PAID = OPEN_PAYMENT | {P.EXPIRED, P.FAILED, P.CANCELLED}
LATE_SUCCESS = frozenset({P.EXPIRED, P.FAILED, P.CANCELLED})
# Money held for review can be sent back too (whole: to keep part of it, the merchant accepts it first).
CAN_BE_REFUNDED = frozenset({P.PAID, P.PARTIALLY_REFUNDED, P.NEEDS_REVIEW})
HOLDS_MONEY = CAN_BE_REFUNDED

# outcome -> (states it may leave from, state it lands in)
ENDINGS: dict[Outcome, tuple[frozenset[PaymentStatus], PaymentStatus]] = {
    Outcome.FAILED: (frozenset({P.CREATED, P.PENDING}), P.FAILED),
    Outcome.CANCELLED: (frozenset({P.CREATED, P.PENDING, P.AWAITING_PROOF}), P.CANCELLED),
    Outcome.EXPIRED: (frozenset({P.CREATED, P.PENDING, P.AWAITING_PROOF}), P.EXPIRED),
    Outcome.PENDING: (frozenset({P.CREATED}), P.PENDING),
    Outcome.PROOF_SUBMITTED: (frozenset({P.AWAITING_PROOF}), P.UNDER_REVIEW),
    Outcome.REJECTED: (frozenset({P.UNDER_REVIEW}), P.AWAITING_PROOF),
}

ORDER_CAN_BE_PAID = frozenset({OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELLED})
ORDER_CAN_BE_CANCELLED = frozenset({OrderStatus.AWAITING_PAYMENT})
ORDER_CAN_BE_SHIPPED = frozenset({OrderStatus.PAID})
