"""inbound events: a provider's event is recorded on arrival and applied off the request (payments.ingest)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The provider is answered once its event's row is committed here; the row is deleted by the transaction that
    # applies it, so what is left after a crash is exactly what is still to apply.
    op.create_table('inbound_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('event_key', sa.String(length=160), nullable=False),
    sa.Column('event', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_inbound_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_events')),
    sa.UniqueConstraint('tenant_id', 'provider', 'event_key', name=op.f('uq_inbound_events_tenant_id_provider_event_key'))
    )


def downgrade() -> None:
    op.drop_table('inbound_events')
