"""fiscal: a shop's control units at a tax authority (eTIMS), the documents numbered on them, and what a product
needs for them (its item classification and tax type)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fiscal_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('authority', sa.String(length=20), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('secrets_enc', sa.Text(), nullable=True),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.Column('registered_items', sa.JSON(), nullable=False),
    sa.Column('initialised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_fiscal_devices_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_devices')),
    sa.UniqueConstraint('tenant_id', 'authority', name=op.f('uq_fiscal_devices_tenant_id_authority'))
    )
    # The device's counter and a document's number change in one transaction: (device, number) unique keeps any
    # number from being given twice, (tenant, source_key) keeps one change from owing two documents.
    op.create_table('fiscal_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('original_number', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('receipt_number', sa.String(length=40), nullable=True),
    sa.Column('signature', sa.String(length=200), nullable=True),
    sa.Column('internal_data', sa.String(length=200), nullable=True),
    sa.Column('control_unit', sa.String(length=60), nullable=True),
    sa.Column('qr_payload', sa.Text(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['fiscal_devices.id'], name=op.f('fk_fiscal_documents_device_id_fiscal_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_fiscal_documents_order_id_orders')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_fiscal_documents_payment_id_payments')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_fiscal_documents_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_documents')),
    sa.UniqueConstraint('device_id', 'number', name=op.f('uq_fiscal_documents_device_id_number')),
    sa.UniqueConstraint('tenant_id', 'source_key', name=op.f('uq_fiscal_documents_tenant_id_source_key'))
    )
    with op.batch_alter_table('fiscal_documents', schema=None) as batch_op:
        batch_op.create_index('ix_fiscal_documents_order', ['tenant_id', 'order_id'], unique=False)
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fiscal_authorities', sa.String(length=60), server_default='', nullable=False))
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_class', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('tax_type', sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('tax_type')
        batch_op.drop_column('item_class')
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('fiscal_authorities')
    with op.batch_alter_table('fiscal_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_fiscal_documents_order')
    op.drop_table('fiscal_documents')
    op.drop_table('fiscal_devices')
