"""languages: a shop's default language, each admin's own, and whether a customer chose theirs

A customer reads their own language (Telegram's, or the one chosen with /language), else the shop's default, else
English. A choice made with /language is marked so that Telegram's language on a later update does not undo it. An
admin reads the merchant's side in their own language (None: their Telegram language, else the shop's).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))
    with op.batch_alter_table('tenant_admins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('language_chosen', sa.Boolean(), server_default=sa.text('false'), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('language_chosen')
    with op.batch_alter_table('tenant_admins', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('language')
