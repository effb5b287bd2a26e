"""The tables. Every row carries its tenant, and every query is scoped by it.

Status columns are plain strings whose values are the enums in ``core.states``; the database keeps no enum type so a
new state is a code change, not a migration of a type.

A payment provider's own tables live in its folder (``payments/<name>/tables.py``), declared on this :class:`Base`;
their migrations are here with the rest, and ``TRUNCATE ... CASCADE`` of the tenants reaches them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
    update,
)
from sqlalchemy import event as orm_event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, object_session, relationship
from sqlalchemy.orm.attributes import get_history, set_committed_value
from sqlalchemy.orm.util import identity_key

from core.db.config_version import new_config_version, notify

# Stable constraint names, so that Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)
# Telegram ids exceed 32 bits; BigInteger is an INTEGER on SQLite so it still autoincrements there.
TgId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    region: Mapped[str] = mapped_column(String(2))
    # An IANA zone ("Africa/Nairobi"); None means the region's usual zone (core/shoptime.py).
    timezone: Mapped[str | None] = mapped_column(String(64))
    bot_token_enc: Mapped[str] = mapped_column(Text)
    webhook_secret_enc: Mapped[str] = mapped_column(Text)
    bot_username: Mapped[str | None] = mapped_column(String(64))
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_timeout_minutes: Mapped[int] = mapped_column(Integer, default=30)
    alert_chat_id: Mapped[int | None] = mapped_column(TgId)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # Set when Telegram refused the bot token (401): the bot is not polled until the operator sets a new token or
    # `dukabot doctor` finds the token working again. The reason is our own wording, never Telegram's text.
    bot_disabled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    bot_disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # What caches of this tenant's state are checked against: a new random value with every change to what they
    # hold, in the change's own transaction (core/db/config_version.py; the events at the end of this module).
    config_version: Mapped[int] = mapped_column(BigInteger, default=new_config_version, server_default=text("0"))

    admins: Mapped[list[TenantAdmin]] = relationship(back_populates="tenant", lazy="raise")


class TenantAdmin(Base):
    __tablename__ = "tenant_admins"
    __table_args__ = (UniqueConstraint("tenant_id", "tg_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    tg_user_id: Mapped[int] = mapped_column(TgId)
    created_at: Mapped[datetime] = mapped_column(Timestamp)

    tenant: Mapped[Tenant] = relationship(back_populates="admins", lazy="raise")


class ProviderConfig(Base):
    """A tenant's configuration of one payment method: secrets encrypted as one bundle, the rest readable."""

    __tablename__ = "provider_configs"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    secrets_enc: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        Index("ix_products_tenant_category", "tenant_id", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    category: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    photo_url: Mapped[str | None] = mapped_column(Text)
    stock: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("tenant_id", "tg_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    tg_user_id: Mapped[int] = mapped_column(TgId)
    chat_id: Mapped[int] = mapped_column(TgId)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Conversation(Base):
    """Where a customer is in the conversation. Lives in the database so a restart loses nothing."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("tenant_id", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(TgId)
    step: Mapped[str] = mapped_column(String(40), default="idle")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("customer_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_orders_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    code: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(20))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_phone: Mapped[str] = mapped_column(String(20))
    delivery_method: Mapped[str] = mapped_column(String(10))
    delivery_address: Mapped[str | None] = mapped_column(Text)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    shipped_at: Mapped[datetime | None] = mapped_column(Timestamp)
    tracking_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)

    items: Mapped[list[OrderItem]] = relationship(back_populates="order", lazy="selectin", order_by="OrderItem.id")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items", lazy="raise")


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


class AdminInvite(Base):
    """A one-time code with which an admin invites another; only its hash is stored."""

    __tablename__ = "admin_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(TgId)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_by: Mapped[int | None] = mapped_column(TgId)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class OutboxMessage(Base):
    """A chat message owed because of a state change, written in the same transaction as the change. One message per
    dedupe key and tenant."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat", "tenant_id", "chat_id", "status"),  # a chat's owed rows (the relay's lanes)
        UniqueConstraint("tenant_id", "dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    chat_id: Mapped[int] = mapped_column(TgId)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp)
    claimed_until: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The Telegram message that shows this row once sent, so a later row can replace it in place (``Message.replaces``).
    sent_message_id: Mapped[int | None] = mapped_column(TgId)


class ProcessedUpdate(Base):
    """Telegram retries a webhook delivery until it gets a 2xx; an update id is handled once per tenant."""

    __tablename__ = "processed_updates"
    __table_args__ = (UniqueConstraint("tenant_id", "update_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    update_id: Mapped[int] = mapped_column(TgId)
    received_at: Mapped[datetime] = mapped_column(Timestamp)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    actor_tg_id: Mapped[int | None] = mapped_column(TgId)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(80))
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(Timestamp)


# --- the configuration version (core/db/config_version.py) --------------------------------------------------------

# The tenant's columns that some process caches (provider objects, the webhook secret): a change to one gives it a new
# configuration version in the same flush.
CACHED_TENANT_COLUMNS = ("slug", "name", "currency", "test_mode", "bot_token_enc", "webhook_secret_enc")


@orm_event.listens_for(Tenant, "before_update")
def _tenant_changed(_mapper: Mapper[Tenant], connection: Connection, tenant: Tenant) -> None:
    if any(get_history(tenant, column).has_changes() for column in CACHED_TENANT_COLUMNS):
        tenant.config_version = new_config_version()
        notify(connection, [tenant.id])


@orm_event.listens_for(ProviderConfig, "after_insert")
@orm_event.listens_for(ProviderConfig, "after_update")
@orm_event.listens_for(ProviderConfig, "after_delete")
def _provider_config_changed(_mapper: Mapper[ProviderConfig], connection: Connection, config: ProviderConfig) -> None:
    version = new_config_version()
    connection.execute(update(Tenant).where(Tenant.id == config.tenant_id).values(config_version=version))
    session = object_session(config)
    loaded = session.identity_map.get(identity_key(Tenant, config.tenant_id)) if session is not None else None
    if isinstance(loaded, Tenant):  # the copy this session holds reads the new version, as the database does
        set_committed_value(loaded, "config_version", version)
    notify(connection, [config.tenant_id])


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
