"""A small shop for tests: one tenant, a catalog in three categories, manual payment configured."""

from __future__ import annotations

from dataclasses import dataclass

from core.clock import Clock
from core.db.engine import Database
from core.db.tables import Product, ProviderConfig, Tenant, TenantAdmin
from core.vault import Vault

PRODUCTS = [
    ("RICE-2KG", "Pishori rice 2kg", 42000, "Groceries", 40),
    ("SUGAR-1KG", "Sugar 1kg", 19000, "Groceries", 3),
    ("TEA-500G", "Kericho tea 500g", 35000, "Groceries", None),
    ("MILK-500", "Fresh milk 500ml", 6500, "Groceries", None),
    ("OIL-1L", "Cooking oil 1L", 38000, "Groceries", None),
    ("FLOUR-2KG", "Maize flour 2kg", 21000, "Groceries", None),
    ("BEANS-1KG", "Rosecoco beans 1kg", 25000, "Groceries", None),
    ("SALT-1KG", "Salt 1kg", 5500, "Groceries", None),
    ("EGGS-TRAY", "Eggs, tray of 30", 48000, "Groceries", None),
    ("SOAP-BAR", "Bar soap", 12000, "Household", None),
    ("JIK-750", "Bleach 750ml", 21500, "Household", 0),
    ("CABLE-USBC", "USB-C cable", 50000, "Phone accessories", None),
]


@dataclass(frozen=True)
class Shop:
    tenant_id: int
    slug: str
    bot_token: str
    webhook_secret: str
    admin_id: int


async def seed_shop(
    database: Database,
    vault: Vault,
    clock: Clock,
    *,
    slug: str = "mama-mboga",
    name: str = "Mama Mboga Store",
    bot_token: str = "111111:AAE-test-token-mama-mboga-000000000",
    admin_id: int = 9001,
    instructions: str = "Send to Till 123456, then upload the receipt.",
    products: list[tuple[str, str, int, str, int | None]] | None = None,
) -> Shop:
    now = clock.now()
    secret = f"secret-{slug}"
    async with database.uow() as uow:
        tenant = Tenant(
            slug=slug,
            name=name,
            currency="KES",
            region="KE",
            bot_token_enc=vault.encrypt(bot_token),
            webhook_secret_enc=vault.encrypt(secret),
            test_mode=False,
            payment_timeout_minutes=30,
            created_at=now,
        )
        uow.session.add(tenant)
        await uow.session.flush()
        uow.session.add(TenantAdmin(tenant_id=tenant.id, tg_user_id=admin_id, created_at=now))
        uow.session.add(
            ProviderConfig(
                tenant_id=tenant.id,
                provider="manual",
                enabled=True,
                options={"instructions": instructions},
                updated_at=now,
            )
        )
        for sku, product_name, price, category, stock in products or PRODUCTS:
            uow.session.add(
                Product(
                    tenant_id=tenant.id,
                    sku=sku,
                    name=product_name,
                    price_minor=price,
                    currency="KES",
                    category=category,
                    description=f"{product_name}, fresh from {name}.",
                    stock=stock,
                    active=True,
                )
            )
        await uow.commit()
        return Shop(tenant.id, slug, bot_token, secret, admin_id)
