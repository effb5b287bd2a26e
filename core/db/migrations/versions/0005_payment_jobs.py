"""payment jobs, and at most one open attempt per order

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('created', 'pending')"


def upgrade() -> None:
    op.create_table(
        'payment_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('payment_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['tenant_id'], ['tenants.id'], name=op.f('fk_payment_jobs_tenant_id_tenants'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_jobs_payment_id_payments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_jobs')),
        sa.UniqueConstraint('tenant_id', 'dedupe_key', name=op.f('uq_payment_jobs_tenant_id_dedupe_key')),
    )
    op.create_index('ix_payment_jobs_due', 'payment_jobs', ['status', 'next_attempt_at'], unique=False)

    # Before the index can hold, an order with several open attempts keeps only its newest open; the older ones
    # are cancelled (a late success of a cancelled attempt is still paid).
    op.execute(
        sa.text(
            "UPDATE payments SET status = 'cancelled', reason = 'superseded by a newer attempt' "
            f"WHERE {OPEN} AND EXISTS (SELECT 1 FROM payments AS newer WHERE newer.order_id = payments.order_id "
            f"AND newer.id > payments.id AND newer.{OPEN})"
        )
    )
    op.create_index(
        'uq_payments_one_open_per_order',
        'payments',
        ['order_id'],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index('uq_payments_one_open_per_order', table_name='payments')
    op.drop_index('ix_payment_jobs_due', table_name='payment_jobs')
    op.drop_table('payment_jobs')
