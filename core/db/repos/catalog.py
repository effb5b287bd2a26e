from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Product

# Built once: the shop's menu is asked for on nearly every step.
_CATEGORIES = (
    select(Product.category)
    .where(Product.tenant_id == bindparam("tenant_id"), Product.active.is_(True))
    .group_by(Product.category)
    .order_by(Product.category)
)


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def categories(self, tenant_id: int) -> list[str]:
        return list(await self.session.scalars(_CATEGORIES, {"tenant_id": tenant_id}))

    async def page(self, tenant_id: int, category: str, offset: int, limit: int) -> tuple[list[Product], int]:
        """A page of the category's products and how many it has in all (0 for a page past the end), in one
        statement: the count rides on each row as a window over the whole category."""
        scope = (Product.tenant_id == tenant_id, Product.category == category, Product.active.is_(True))
        result = await self.session.execute(
            select(Product, func.count().over())
            .where(*scope)
            .order_by(Product.name, Product.id)
            .offset(offset)
            .limit(limit)
        )
        rows = result.all()
        return [row[0] for row in rows], int(rows[0][1]) if rows else 0

    async def get(self, tenant_id: int, product_id: int) -> Product | None:
        return await self.session.scalar(
            select(Product).where(Product.tenant_id == tenant_id, Product.id == product_id)
        )

    async def by_sku(self, tenant_id: int, sku: str) -> Product | None:
        return await self.session.scalar(select(Product).where(Product.tenant_id == tenant_id, Product.sku == sku))

    async def by_ids(self, tenant_id: int, ids: list[int]) -> dict[int, Product]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Product).where(Product.tenant_id == tenant_id, Product.id.in_(ids)))
        return {product.id: product for product in rows}

    async def take_stocks(self, tenant_id: int, wanted: Mapping[int, int]) -> set[int]:
        """Take each quantity (product id -> quantity) off its product's counted stock: one statement when every
        counted stock has enough, a second for those short. Returns the ids of the products there was not enough of:
        their stock is left at 0. Products without a count (``stock`` NULL) are unlimited and untouched. Conditional
        updates, not read-then-write, so two payments landing at once cannot both take the last unit."""
        if not wanted:
            return set()
        products = cast(Table, Product.__table__)
        need = case(dict(wanted), value=products.c.id)

        def counted(ids: list[int]) -> tuple[ColumnElement[bool], ...]:
            return (products.c.tenant_id == tenant_id, products.c.id.in_(ids), products.c.stock.is_not(None))

        taken = await self.session.scalars(
            update(products)
            .where(*counted(list(wanted)), products.c.stock >= need)
            .values(stock=products.c.stock - need)
            .returning(products.c.id)
        )
        rest = sorted(set(wanted) - set(taken))
        if not rest:
            return set()
        emptied = await self.session.scalars(
            update(products).where(*counted(rest), products.c.stock < need).values(stock=0).returning(products.c.id)
        )
        return set(emptied)
