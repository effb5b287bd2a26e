"""The mapper events that give a tenant a new configuration version (core/db/config_version.py) in the same flush as
a change to what caches of it hold: its cached columns, any of its provider configurations, or what browsing shows of
its products (core/catalog_cache.py).

Imported by the package, so the events are registered wherever a table is."""

from __future__ import annotations

from sqlalchemy import event as orm_event
from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, object_session
from sqlalchemy.orm.attributes import get_history, set_committed_value
from sqlalchemy.orm.util import identity_key

from core.db.config_version import new_config_version, notify
from core.db.tables.shop import Product, ProviderConfig, Tenant

# The tenant's columns that some process caches (provider objects, the webhook secret): a change to one gives it a new
# configuration version in the same flush.
CACHED_TENANT_COLUMNS = ("slug", "name", "currency", "test_mode", "bot_token_enc", "webhook_secret_enc")
# A product's columns that browsing's shelves and the search indexes hold (core/catalog_cache.py,
# core/catalog_search.py). Not stock: it moves with every payment and
# is never shown from a shelf.
SHELVED_PRODUCT_COLUMNS = (
    "name",
    "price_minor",
    "currency",
    "category",
    "active",
    "translations",
    "description",
    "sku",
)


@orm_event.listens_for(Tenant, "before_update")
def _tenant_changed(_mapper: Mapper[Tenant], connection: Connection, tenant: Tenant) -> None:
    if any(get_history(tenant, column).has_changes() for column in CACHED_TENANT_COLUMNS):
        tenant.config_version = new_config_version()
        notify(connection, [tenant.id])


@orm_event.listens_for(ProviderConfig, "after_insert")
@orm_event.listens_for(ProviderConfig, "after_update")
@orm_event.listens_for(ProviderConfig, "after_delete")
def _provider_config_changed(_mapper: Mapper[ProviderConfig], connection: Connection, config: ProviderConfig) -> None:
    _stamp(connection, config, config.tenant_id)


@orm_event.listens_for(Product, "after_insert")
@orm_event.listens_for(Product, "after_delete")
def _product_added_or_deleted(_mapper: Mapper[Product], connection: Connection, product: Product) -> None:
    _stamp(connection, product, product.tenant_id)


@orm_event.listens_for(Product, "after_update")
def _product_changed(_mapper: Mapper[Product], connection: Connection, product: Product) -> None:
    if any(get_history(product, column).has_changes() for column in SHELVED_PRODUCT_COLUMNS):
        _stamp(connection, product, product.tenant_id)


def _stamp(connection: Connection, changed: object, tenant_id: int) -> None:
    """A new version for the tenant of ``changed``, in the flush that writes it."""
    version = new_config_version()
    connection.execute(update(Tenant).where(Tenant.id == tenant_id).values(config_version=version))
    session = object_session(changed)
    loaded = session.identity_map.get(identity_key(Tenant, tenant_id)) if session is not None else None
    if isinstance(loaded, Tenant):  # the copy this session holds reads the new version, as the database does
        set_committed_value(loaded, "config_version", version)
    notify(connection, [tenant_id])
