"""M-Pesa's own table: the C2B (Paybill) receipts of each tenant. Declared on the product's ``Base`` (its migration,
0007, is with the others in ``core/db/migrations``), and loaded with the provider's other modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables import Base, Timestamp


class C2BReceipt(Base):
    """One M-Pesa C2B receipt of a tenant, claimed before anything else is done with its confirmation (a second copy
    finds the claim and changes nothing). With initiator credentials the confirmation waits here (``waiting``) until
    Daraja's Transaction Status result, posted to the URL carrying ``check_token``, says whether the receipt is real."""

    __tablename__ = "mpesa_c2b_receipts"
    __table_args__ = (UniqueConstraint("tenant_id", "receipt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    receipt: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # applied | waiting | confirmed | refused
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    check_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    settled_at: Mapped[datetime | None] = mapped_column(Timestamp)
