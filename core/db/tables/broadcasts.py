"""A merchant's broadcasts and the customers each one is owed to (admin.broadcasts, admin.broadcast_feed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables.base import Base, TgId, Timestamp


class Broadcast(Base):
    """One message to an audience of a shop's customers: a draft until the merchant confirms it (a conditional update
    draft -> sending, so a second confirm sends nothing), then fed to the outbox a few recipients at a time."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    admin_chat_id: Mapped[int] = mapped_column(TgId)  # where the preview and the progress message go
    created_by: Mapped[int] = mapped_column(TgId)  # the admin's Telegram user id
    status: Mapped[str] = mapped_column(String(12))  # draft | sending | done | cancelled
    text: Mapped[str] = mapped_column(String(1024))  # a photo's caption when ``photo`` is set
    photo: Mapped[str | None] = mapped_column(String(200))  # a Telegram file_id
    # The optional button: {"product_id": id} or {"promo": CODE}; {} for none.
    button: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    audience: Mapped[str] = mapped_column(String(20), default="")  # admin.broadcast_audience.Audience, as text
    total: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # stopped marketing (or unreachable) before their turn
    progress_seq: Mapped[int] = mapped_column(Integer, default=0)  # the progress message's edits so far
    # The feeder that holds this broadcast, until when: one feeder feeds a broadcast at a time (several processes).
    feeder: Mapped[str | None] = mapped_column(String(40))
    feeder_until: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)


class BroadcastRecipient(Base):
    """One customer a broadcast is owed to, once: pending until the feeder owes it in the outbox (queued, with the
    row's id), then what the relay made of it (sent, blocked, failed, skipped)."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "customer_id"),
        Index("ix_broadcast_recipients_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(TgId)
    status: Mapped[str] = mapped_column(String(10))
    outbox_id: Mapped[int | None] = mapped_column(Integer)
