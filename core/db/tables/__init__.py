"""The tables, one module per area; every name is re-exported here, so ``from core.db.tables import X`` is the way
to import a table, and importing this package registers every table on ``Base.metadata`` (Alembic's env relies on it)
along with the configuration-version events.

- ``base``: the declarative base, the naming convention, the shared column types.
- ``shop``: tenants, their admins and provider configurations, the catalog, customers, conversations, carts.
- ``orders``: orders and their items.
- ``payments``: payment attempts, payment jobs, provider events (received and applied), proofs, refunds.
- ``messaging``: the outbox and the Telegram updates already handled.
- ``admin``: admin invitations and the audit log.
- ``promos``: promo codes and the uses orders hold of them.
- ``broadcasts``: a merchant's broadcasts and the customers each is owed to.
- ``fiscal``: tax authorities' control units and the documents numbered on them.
- ``notify``: a shop's SMS and email settings, and the messages their providers accepted.
- ``config_events``: the mapper events that bump a tenant's configuration version.
"""

from core.db.tables import config_events as config_events
from core.db.tables.admin import AdminInvite, AuditEntry
from core.db.tables.base import NAMING, Base, TgId, Timestamp
from core.db.tables.broadcasts import Broadcast, BroadcastRecipient
from core.db.tables.config_events import CACHED_TENANT_COLUMNS
from core.db.tables.fiscal import FiscalDevice, FiscalDocument
from core.db.tables.messaging import OutboxMessage, ProcessedUpdate
from core.db.tables.notify import NotifyChannel, NotifyMessage
from core.db.tables.orders import Order, OrderItem
from core.db.tables.payments import (
    OPEN_ATTEMPT,
    InboundEvent,
    Payment,
    PaymentEvent,
    PaymentJob,
    Proof,
    Refund,
    RefundConfirmation,
)
from core.db.tables.promos import PromoCode, PromoRedemption
from core.db.tables.shop import (
    CartItem,
    CartReminder,
    Conversation,
    Customer,
    Product,
    ProviderConfig,
    Tenant,
    TenantAdmin,
)

__all__ = [
    "CACHED_TENANT_COLUMNS",
    "NAMING",
    "OPEN_ATTEMPT",
    "AdminInvite",
    "AuditEntry",
    "Base",
    "Broadcast",
    "BroadcastRecipient",
    "CartItem",
    "CartReminder",
    "Conversation",
    "Customer",
    "FiscalDevice",
    "FiscalDocument",
    "InboundEvent",
    "NotifyChannel",
    "NotifyMessage",
    "Order",
    "OrderItem",
    "OutboxMessage",
    "Payment",
    "PaymentEvent",
    "PaymentJob",
    "ProcessedUpdate",
    "Product",
    "PromoCode",
    "PromoRedemption",
    "Proof",
    "ProviderConfig",
    "Refund",
    "RefundConfirmation",
    "Tenant",
    "TenantAdmin",
    "TgId",
    "Timestamp",
]
