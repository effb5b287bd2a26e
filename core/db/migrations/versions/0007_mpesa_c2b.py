"""M-Pesa C2B: its own secret and receipts waiting for confirmation

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # reserved in the migration chain: filled in by the work that needs it


def downgrade() -> None:
    pass
