"""abandoned-cart reminders: when a cart was last touched and its reminder is due, the shop's delay, the reminders sent

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("cart_reminder_minutes", sa.Integer(), server_default=sa.text("360"), nullable=False))
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("cart_touched_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cart_remind_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_customers_cart_remind_at",
        "customers",
        ["cart_remind_at"],
        postgresql_where=sa.text("cart_remind_at IS NOT NULL"),
        sqlite_where=sa.text("cart_remind_at IS NOT NULL"),
    )
    op.create_table(
        "cart_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("cart_touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_cart_reminders_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_cart_reminders_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_cart_reminders_order_id_orders"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_reminders")),
        sa.UniqueConstraint("customer_id", "cart_touched_at", name=op.f("uq_cart_reminders_customer_id_cart_touched_at")),
    )
    op.create_index("ix_cart_reminders_tenant_sent", "cart_reminders", ["tenant_id", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_cart_reminders_tenant_sent", table_name="cart_reminders")
    op.drop_table("cart_reminders")
    op.drop_index("ix_customers_cart_remind_at", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("cart_remind_at")
        batch.drop_column("cart_touched_at")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("cart_reminder_minutes")
