"""what a shop's receipts print about it: its address, its tax id (KRA PIN) and its VAT (rate, prices with or without)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # All optional: an existing shop prints its name alone and no VAT lines, as its chat receipt does.
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('tax_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('vat_rate_bp', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('prices_include_vat', sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('prices_include_vat')
        batch_op.drop_column('vat_rate_bp')
        batch_op.drop_column('tax_id')
        batch_op.drop_column('address')
