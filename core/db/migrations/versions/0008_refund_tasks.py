"""refunds the merchant must send by hand are tasks until done; never more refunded than paid

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WITHIN_PAID = 'refunded_minor >= 0 AND refunded_minor <= COALESCE(paid_minor, amount_minor)'


def upgrade() -> None:
    # Rows written before the refunded total was a conditional update were clamped to what was paid already (the
    # old code took min(paid, total)); clamp again anyway, so that no old row can stop the constraint being added.
    payments = sa.table(
        'payments',
        sa.column('refunded_minor', sa.BigInteger()),
        sa.column('paid_minor', sa.BigInteger()),
        sa.column('amount_minor', sa.BigInteger()),
    )
    paid = sa.func.coalesce(payments.c.paid_minor, payments.c.amount_minor)
    op.execute(payments.update().where(payments.c.refunded_minor > paid).values(refunded_minor=paid))
    op.execute(payments.update().where(payments.c.refunded_minor < 0).values(refunded_minor=0))
    # SQLite cannot add a CHECK to a table in place: batch mode rebuilds it.
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_payments_refunded_within_paid'), sa.text(_WITHIN_PAID))
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        # A refund the merchant sends by hand (M-Pesa, cash) is a task until they press Done: who did, and when.
        batch_op.add_column(sa.Column('done_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('done_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_refunds_tenant_status', ['tenant_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_tenant_status')
        batch_op.drop_column('done_at')
        batch_op.drop_column('done_by')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_refunded_within_paid'), type_='check')
