"""a tenant bot that Telegram refused is switched off, with why

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both nullable: every existing tenant's bot stays enabled.
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bot_disabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('bot_disabled_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('bot_disabled_reason')
        batch_op.drop_column('bot_disabled_at')
