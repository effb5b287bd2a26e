"""idempotency and dedupe keys scoped by tenant

payment_events: unique on (tenant_id, provider, event_key) instead of (provider, event_key); outbox: unique on
(tenant_id, dedupe_key) instead of dedupe_key. Rows already stored satisfy the wider keys, and their keys are built
the same way as before, so a redelivery of an event recorded before this migration is still a duplicate.

Revision ID: 0004
Revises: 0003_paystack_refund_checks
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003_paystack_refund_checks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_payment_events_provider_event_key', type_='unique')
        batch_op.create_unique_constraint(
            'uq_payment_events_tenant_id_provider_event_key', ['tenant_id', 'provider', 'event_key']
        )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('uq_outbox_dedupe_key', type_='unique')
        batch_op.create_unique_constraint('uq_outbox_tenant_id_dedupe_key', ['tenant_id', 'dedupe_key'])


def downgrade() -> None:
    # Fails (unique violation) once two tenants hold the same key: narrowing the keys again would lose their rows.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('uq_outbox_tenant_id_dedupe_key', type_='unique')
        batch_op.create_unique_constraint('uq_outbox_dedupe_key', ['dedupe_key'])
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_payment_events_tenant_id_provider_event_key', type_='unique')
        batch_op.create_unique_constraint('uq_payment_events_provider_event_key', ['provider', 'event_key'])
