"""Notification channels beyond the chat (``notify/``): a shop's settings for each (SMS, email), and the messages a
provider accepted, with the delivery status its reports told us.

A delivery report names the provider's message id alone, and nobody signs it: ``notify_messages`` is how a report
is matched to a message we sent (unique per tenant, channel and provider id) and it records a status, nothing more."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables.base import Base, Timestamp


class NotifyChannel(Base):
    __tablename__ = "notify_channels"
    __table_args__ = (UniqueConstraint("tenant_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))  # "sms" | "email" (``notify`` folders)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Every receipt goes this way too ("always"), or only when the chat is undeliverable ("fallback": SMS).
    receipts: Mapped[str] = mapped_column(String(16), default="fallback")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets_enc: Mapped[str | None] = mapped_column(Text)  # core.vault, one bundle, as provider_configs
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class NotifyMessage(Base):
    __tablename__ = "notify_messages"
    __table_args__ = (UniqueConstraint("tenant_id", "channel", "provider_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str] = mapped_column(String(100))
    outbox_id: Mapped[int] = mapped_column(BigInteger)  # the outbox row it delivered
    recipient: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))  # as accepted, then as the last report said
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime] = mapped_column(Timestamp)
    reported_at: Mapped[datetime | None] = mapped_column(Timestamp)
