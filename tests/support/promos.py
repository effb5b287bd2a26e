"""A seeded shop with a promo code, and customers with rice in their carts at the order summary (promo tests that
drive the flows without the server)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.engine import Database
from core.db.tables import Product, PromoCode, Tenant
from core.vault import Vault
from flows import cart, router
from flows.context import FlowContext
from flows.inbound import Actor
from tests.support.seed import seed_shop


@dataclass(frozen=True)
class PromoShop:
    tenant_id: int
    rice: int  # the product every cart holds one of (KES 420)


async def shop_with_code(
    database: Database, vault: Vault, clock: Clock, code: str, *, value: int, max_uses: int, uses: int
) -> PromoShop:
    """The seeded shop and a fixed-amount ``code`` (``value`` minor units off) with ``uses`` of ``max_uses`` gone."""
    shop = await seed_shop(database, vault, clock)
    async with database.uow() as uow:
        rice = await uow.session.scalar(select(Product.id).where(Product.sku == "RICE-2KG"))
        assert rice is not None
        uow.session.add(
            PromoCode(
                tenant_id=shop.tenant_id, code=code, kind="amount", value=value, currency="KES", skus=[],
                categories=[], min_order_minor=0, max_uses=max_uses, uses=uses, status="active",
                created_at=clock.now(),
            )
        )  # fmt: skip
        await uow.commit()
    return PromoShop(shop.tenant_id, rice)


async def at_summary(session: AsyncSession, shop: PromoShop, actor: Actor, clock: Clock, code: str) -> FlowContext:
    """``actor``'s context at the order summary: one rice in the cart, ``code`` given, the contact details filled."""
    tenant = await session.get(Tenant, shop.tenant_id)
    assert tenant is not None
    ctx = await router.open_context(session, tenant, actor, clock)
    if not await cart.cart_lines(ctx):
        await cart.change_quantity(ctx, shop.rice, +1)
    ctx.customer.promo_code = code
    ctx.go("checkout.confirm", name="Wanjiru Kamau", phone="+254712345678", delivery="pickup")
    return ctx
