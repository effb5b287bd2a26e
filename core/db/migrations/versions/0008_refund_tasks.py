"""refunds the merchant must send by hand are tasks until done

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # reserved in the migration chain: filled in by the work that needs it


def downgrade() -> None:
    pass
