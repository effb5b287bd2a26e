"""a customer's marketing consent (/stop) and whether the bot can still reach the chat

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("marketing_stopped_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("unreachable_at")
        batch.drop_column("marketing_stopped_at")
