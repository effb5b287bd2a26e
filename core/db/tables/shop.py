"""A shop and what it sells: the tenant, its admins and payment-method configurations, its catalog, its customers
with their conversations and carts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db.config_version import new_config_version
from core.db.tables.base import Base, TgId, Timestamp


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
    # hold, in the change's own transaction (core/db/config_version.py; the events in core/db/tables/config_events.py).
    config_version: Mapped[int] = mapped_column(BigInteger, default=new_config_version, server_default=text("0"))
    # The tax authorities the shop reports its sales to (fiscal/, comma-separated names; "" none), read with the tenant
    # so that a payment of a shop without any costs no query (payments.fiscal_hook).
    fiscal_authorities: Mapped[str] = mapped_column(String(60), default="", server_default="")
    # The channels that send a copy of every receipt (notify/: "email", "sms" when the shop wants SMS receipts always;
    # comma-separated, "" none), read with the tenant so that a payment of a shop without any costs no query
    # (payments.receipt_copies). An SMS fallback for undeliverable chats needs no entry here.
    receipt_copies: Mapped[str] = mapped_column(String(60), default="", server_default="")
    # What a receipt prints about the shop (admin/receipt_pdf.py; `dukabot tenant receipt`): its address, its tax id
    # (a KRA PIN in Kenya), and its VAT: a rate in basis points (1600 = 16%; None: the shop charges no VAT), included in
    # its prices (checkout charges them as they are, so the receipt takes VAT out of the amount paid).
    address: Mapped[str | None] = mapped_column(Text)
    tax_id: Mapped[str | None] = mapped_column(String(40))
    vat_rate_bp: Mapped[int | None] = mapped_column(Integer)
    # The language customers read when dukabot does not speak theirs, and alerts to the shop's group are written in.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # How long a cart stays untouched before its customer gets one reminder (core.cart_reminders); 0: never.
    cart_reminder_minutes: Mapped[int] = mapped_column(Integer, default=360, server_default=text("360"))

    admins: Mapped[list[TenantAdmin]] = relationship(back_populates="tenant", lazy="raise")


class TenantAdmin(Base):
    __tablename__ = "tenant_admins"
    __table_args__ = (UniqueConstraint("tenant_id", "tg_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    tg_user_id: Mapped[int] = mapped_column(TgId)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # The merchant's side in this admin's own language (chosen with /adminlanguage); None: their Telegram language,
    # else the shop's.
    language: Mapped[str | None] = mapped_column(String(8))

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
    # What a tax authority needs of the product (fiscal/: an item classification code and a tax type).
    item_class: Mapped[str | None] = mapped_column(String(20))
    tax_type: Mapped[str | None] = mapped_column(String(2))
    # Name and description in other languages, by language: {"sw": {"name": ..., "description": ...}}
    # (core/product_text.py). Replaced whole, never changed in place, so the ORM sees every change.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "tg_user_id"),
        # The reminder sweep's query: carts whose reminder is due (only those rows are in it).
        Index(
            "ix_customers_cart_remind_at",
            "cart_remind_at",
            postgresql_where=text("cart_remind_at IS NOT NULL"),
            sqlite_where=text("cart_remind_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    tg_user_id: Mapped[int] = mapped_column(TgId)
    chat_id: Mapped[int] = mapped_column(TgId)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="en")
    # Chosen with /language: Telegram's language of a later update no longer changes ``language``.
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # A promo code the customer gave (typed or from a /start promo_CODE link), applied at their next checkout.
    promo_code: Mapped[str | None] = mapped_column(String(32))
    # Marketing consent (core.marketing): set by /stop, cleared when the customer starts them again. Broadcasts and
    # cart reminders never reach a customer with this set.
    marketing_stopped_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The chat refused the bot (blocked it, or the account is gone): marketing skips it until the customer writes again.
    unreachable_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # When the cart last changed (None: empty, or checked out), and when its one reminder is due (None: none owed:
    # reminded already, emptied, or the shop sends none). Set together by every change of the cart
    # (core.cart_reminders).
    cart_touched_at: Mapped[datetime | None] = mapped_column(Timestamp)
    cart_remind_at: Mapped[datetime | None] = mapped_column(Timestamp)
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


class CartReminder(Base):
    """One reminder of an abandoned cart: unique on the cart as it was left (its customer and the time it was last
    touched), so one untouched cart never gets two. ``order_id``: the order its customer placed within the window
    after it (core.cart_reminders.FOLLOW_WINDOW), which /sales counts as following it."""

    __tablename__ = "cart_reminders"
    __table_args__ = (
        UniqueConstraint("customer_id", "cart_touched_at"),
        Index("ix_cart_reminders_tenant_sent", "tenant_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    cart_touched_at: Mapped[datetime] = mapped_column(Timestamp)
    sent_at: Mapped[datetime] = mapped_column(Timestamp)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
