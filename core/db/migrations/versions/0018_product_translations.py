"""products carry their names and descriptions in other languages, so each customer reads the shop in their own

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # {"sw": {"name": ..., "description": ...}, "fr": {...}}; empty: every customer reads the default name.
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('translations', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('translations')
