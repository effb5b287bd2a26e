"""refunds: the reconciler's schedule for refunds still on their way (next_check_at, checks)

Revision ID: 0003_paystack_refund_checks
Revises: 0002
Create Date: 2026-11-22 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_paystack_refund_checks'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True))
        # server_default: refunds already recorded get 0 checks.
        batch_op.add_column(sa.Column('checks', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_refunds_status_check', ['status', 'next_check_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_status_check')
        batch_op.drop_column('checks')
        batch_op.drop_column('next_check_at')
