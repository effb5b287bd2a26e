"""prices include VAT: the column that let a receipt add VAT on top of what checkout charged goes

A shop that had asked for VAT on top of its prices got receipts whose total was more than the customer paid
(checkout never added VAT). Its receipts now take VAT out of the amount paid, as every other shop's do.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("prices_include_vat")


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("prices_include_vat", sa.Boolean(), server_default=sa.true(), nullable=False))
