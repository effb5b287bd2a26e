"""What a shop reports to a tax authority (``fiscal/``): its control units (one per shop and authority, with the
settings, the encrypted communication key and the invoice counter) and the documents numbered on them.

A document's number comes from its device's counter in the transaction that creates the document, so the counter
and the documents move together: no number is taken without a document, none is given twice (unique per device)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables.base import Base, Timestamp


class FiscalDevice(Base):
    __tablename__ = "fiscal_devices"
    __table_args__ = (UniqueConstraint("tenant_id", "authority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    authority: Mapped[str] = mapped_column(String(20))  # the fiscal integration's name (``fiscal.registry``)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets_enc: Mapped[str | None] = mapped_column(Text)  # core.vault, one bundle, as provider_configs
    last_number: Mapped[int] = mapped_column(BigInteger, default=0)  # the last invoice number given
    registered_items: Mapped[list[Any]] = mapped_column(JSON, default=list)  # item codes the authority knows
    initialised_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class FiscalDocument(Base):
    __tablename__ = "fiscal_documents"
    __table_args__ = (
        UniqueConstraint("device_id", "number"),
        UniqueConstraint("tenant_id", "source_key"),
        Index("ix_fiscal_documents_order", "tenant_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("fiscal_devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # sale | credit
    source_key: Mapped[str] = mapped_column(String(200))  # the change that owed it (one change, one document)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    number: Mapped[int] = mapped_column(BigInteger)
    original_number: Mapped[int | None] = mapped_column(BigInteger)  # a credit note's sale
    status: Mapped[str] = mapped_column(String(12))  # numbered | submitted
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what was (and is re-)sent, built once
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    receipt_number: Mapped[str | None] = mapped_column(String(40))
    signature: Mapped[str | None] = mapped_column(String(200))
    internal_data: Mapped[str | None] = mapped_column(String(200))
    control_unit: Mapped[str | None] = mapped_column(String(60))
    qr_payload: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    submitted_at: Mapped[datetime | None] = mapped_column(Timestamp)
