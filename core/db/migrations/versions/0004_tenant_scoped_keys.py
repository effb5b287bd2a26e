"""idempotency and dedupe keys scoped by tenant; refunds bounded by what was paid

Revision ID: 0004
Revises: 0003_paystack_refund_checks
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

revision: str = '0004'
down_revision: str | None = '0003_paystack_refund_checks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # reserved in the migration chain: filled in by the work that needs it


def downgrade() -> None:
    pass
