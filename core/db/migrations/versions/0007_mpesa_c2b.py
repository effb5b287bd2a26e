"""M-Pesa C2B: its own secret and receipts waiting for confirmation

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The C2B URL secret lives in the M-Pesa provider's encrypted secrets bundle (``c2b_secret``), so it needs no
    # column; existing shops have none and their C2B URLs answer 404 until `provider register-c2b` makes one.
    op.create_table(
        'mpesa_c2b_receipts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('receipt', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('body', sa.JSON(), nullable=True),
        sa.Column('check_token', sa.String(length=64), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['tenant_id'], ['tenants.id'], name=op.f('fk_mpesa_c2b_receipts_tenant_id_tenants'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mpesa_c2b_receipts')),
        sa.UniqueConstraint('check_token', name=op.f('uq_mpesa_c2b_receipts_check_token')),
        sa.UniqueConstraint('tenant_id', 'receipt', name=op.f('uq_mpesa_c2b_receipts_tenant_id_receipt')),
    )


def downgrade() -> None:
    op.drop_table('mpesa_c2b_receipts')
