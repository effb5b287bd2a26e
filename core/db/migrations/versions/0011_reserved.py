"""an M-Pesa push remembers the phone it went to, so Daraja's pause between two pushes is kept per phone, as Daraja
keeps it, not per customer

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: earlier pushes, Paystack links and manual proofs have none; a push without one pauses nobody.
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_payments_tenant_phone', ['tenant_id', 'phone'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_tenant_phone')
        batch_op.drop_column('phone')
