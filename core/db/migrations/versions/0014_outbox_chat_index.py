"""outbox: an index on each chat's owed rows, for the relay's lanes

The relay delivers a chat at a time: a claim takes a chat's first claimable row only when no row of that chat is
held, and a lane claims its own chat's next row. Both look a chat's pending rows up by tenant and chat.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 20:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_chat', ['tenant_id', 'chat_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_chat')
