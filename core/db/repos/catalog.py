from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Product, Tenant


class ShelfItem(NamedTuple):
    """What browsing shows of a product (never its stock: see core.catalog_cache)."""

    id: int
    name: str
    price_minor: int
    currency: str
    category: str
    # Names in other languages (core/product_text.py): the shelf holds every language's, so it is the same for all.
    translations: Mapping[str, Mapping[str, str]] = {}


# The tenant's version with every active product, in one statement (so the version is the one the products were read
# at); a shop with none gives one row of Nones. Categories by name, each one's
# products by name and id, in the database's collation (the order the shop has always been shown in).
_SHELF = (
    select(
        Tenant.config_version,
        Product.id,
        Product.name,
        Product.price_minor,
        Product.currency,
        Product.category,
        Product.translations,
    )
    .select_from(Tenant)
    .outerjoin(Product, and_(Product.tenant_id == Tenant.id, Product.active.is_(True)))
    .where(Tenant.id == bindparam("tenant_id"))
    .order_by(Product.category, Product.name, Product.id)
)


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def shelf(self, tenant_id: int) -> tuple[int, list[ShelfItem]]:
        """The tenant's configuration version and its active products (see core.catalog_cache)."""
        rows = (await self.session.execute(_SHELF, {"tenant_id": tenant_id})).all()
        version = int(rows[0][0]) if rows else 0
        return version, [ShelfItem(*row[1:]) for row in rows if row[1] is not None]

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
