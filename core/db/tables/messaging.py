"""The chat side: messages owed to chats (the outbox the relay sends from) and the Telegram updates already handled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables.base import Base, TgId, Timestamp


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
