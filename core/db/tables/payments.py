"""Collecting and returning an order's money: payment attempts and their jobs, the provider events about them
(recorded on arrival, then applied), proofs of manual payments, refunds and the admin's confirmation of one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables.base import Base, TgId, Timestamp

# The statuses of an attempt still open (``payments.states``: created, pending), as SQL for the partial index.
OPEN_ATTEMPT = "status IN ('created', 'pending')"


class Payment(Base):
    """One attempt to collect an order's money. A new attempt is a new payment of the same order."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_tenant_status", "tenant_id", "status"),
        Index("ix_payments_status_check", "status", "next_check_at"),
        Index("ix_payments_tenant_phone", "tenant_id", "phone"),
        # Never more refunded than was paid, whatever path wrote it (payments.service adds refunds conditionally).
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= COALESCE(paid_minor, amount_minor)", name="refunded_within_paid"
        ),
        # At most one open attempt per order: two starts at once (a double tap, a payment job, a Paybill
        # confirmation) cannot both open one. ``payments.attempts.open_payment`` inserts against it.
        Index(
            "uq_payments_one_open_per_order",
            "order_id",
            unique=True,
            sqlite_where=text(OPEN_ATTEMPT),
            postgresql_where=text(OPEN_ATTEMPT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    provider: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(24))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_minor: Mapped[int | None] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    provider_txn_id: Mapped[str | None] = mapped_column(String(64))
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    callback_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The number a push went to (E.164): a push provider may pause between two pushes to one phone.
    phone: Mapped[str | None] = mapped_column(String(16))
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The reconciler's schedule: when to ask the provider next, and how often it has asked.
    next_check_at: Mapped[datetime | None] = mapped_column(Timestamp)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class PaymentJob(Base):
    """Work for a provider that must not run inside a Telegram update and must survive a crash (starting an
    attempt, and whatever else a ``kind`` names): claimed by the job worker as the relay claims outbox rows."""

    __tablename__ = "payment_jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index("ix_payment_jobs_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp)
    claimed_until: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class PaymentEvent(Base):
    """Every fact received about a payment, applied or not. The unique key is what makes events idempotent; it is the
    tenant's own, since two tenants' provider accounts may well report the same reference or event id."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("tenant_id", "provider", "event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    provider: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(160))
    outcome: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    provider_txn_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(24))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(Timestamp)


class Proof(Base):
    """A customer's proof of a manual payment: the uploaded file and the reference they typed."""

    __tablename__ = "proofs"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    file_kind: Mapped[str] = mapped_column(String(10))
    file_id: Mapped[str] = mapped_column(String(200))
    file_unique_id: Mapped[str] = mapped_column(String(100))
    file_size: Mapped[int | None] = mapped_column(Integer)
    reference_text: Mapped[str | None] = mapped_column(String(100))
    # Fraud signals for the merchant: the file's content hash (the same image sent again) and an amount the
    # customer typed, if any.
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    claimed_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[int | None] = mapped_column(TgId)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Refund(Base):
    """Money going back to a customer: through the provider's API or recorded as made outside."""

    __tablename__ = "refunds"
    __table_args__ = (
        Index("ix_refunds_status_check", "status", "next_check_at"),
        Index("ix_refunds_tenant_status", "tenant_id", "status"),  # the merchant's open refund tasks
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    provider: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    provider_refund_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(TgId)
    # The reconciler's schedule for a refund still on its way (fetch its state in case a webhook is lost):
    # when to ask next (None: not asking), and how often it has asked.
    next_check_at: Mapped[datetime | None] = mapped_column(Timestamp)
    checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A refund the merchant sends by hand (``payments.merchant_refunds``): the admin who pressed Done, and when.
    done_by: Mapped[int | None] = mapped_column(TgId)
    done_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class RefundConfirmation(Base):
    """A ``/refund`` waiting for its admin's Confirm (``admin.refund_confirm``): what was shown, to whom, until when.
    Confirm consumes it with one conditional UPDATE, so one question starts at most one refund."""

    __tablename__ = "refund_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    admin_tg_id: Mapped[int] = mapped_column(TgId)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    held: Mapped[bool] = mapped_column(Boolean)  # the money was held for review when asked
    status: Mapped[str] = mapped_column(String(12))  # asked, confirmed, cancelled
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)


class InboundEvent(Base):
    """A provider's event recorded on arrival, before it is applied (``payments.ingest``): the provider is answered
    once this row is committed, and the row is deleted in the transaction that applies it. A row still here after a
    crash is applied after the restart; applying is idempotent on ``payment_events``' key, so one applied twice is
    harmless. Unique as events are, so a redelivery that arrives before the first is applied is one row."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("tenant_id", "provider", "event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(160))
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(Timestamp)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
