"""Stock leaves the shelf when an order is paid, not when it is placed.

An unpaid order holds nothing, so an abandoned checkout never blocks a sale. Checkout and the choice of a payment
method check the stock first; two customers paying for the last unit at the same moment can still both pay (the money
is real either way), and then the merchant is told in the paid alert — restock or refund — never silently.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.repos.catalog import CatalogRepository
from core.db.tables import Order
from core.product_text import product_name


async def take_for_order(session: AsyncSession, order: Order, counted: Collection[int] | None = None) -> list[str]:
    """Take each line's quantity off its product's stock. Returns the names of the lines there was not enough
    stock for (their stock is left at 0). ``counted``: the order's products whose stock is counted, when the caller
    read them already (``core.db.repos.orders.Parties``); most products of most shops are not, and cost no write."""
    ids = [item.product_id for item in order.items if item.product_id is not None]
    if counted is None:
        products = await CatalogRepository(session).by_ids(order.tenant_id, ids)
        counted = {product.id for product in products.values() if product.stock is not None}
    wanted: dict[int, int] = {}
    for item in order.items:
        if item.product_id is not None and item.product_id in counted:
            wanted[item.product_id] = wanted.get(item.product_id, 0) + item.quantity
    short = await CatalogRepository(session).take_stocks(order.tenant_id, wanted)
    return [item.name for item in order.items if item.product_id in short]


async def sold_out(session: AsyncSession, order: Order, language: str) -> list[str]:
    """The names of the order's lines the shop no longer has enough of (or no longer sells), for a customer who reads
    ``language``: the catalog's variant of each name when it has one (the order keeps the default name)."""
    ids = [item.product_id for item in order.items if item.product_id is not None]
    products = await CatalogRepository(session).by_ids(order.tenant_id, ids)
    gone: list[str] = []
    for item in order.items:
        product = products.get(item.product_id) if item.product_id is not None else None
        if product is None:
            continue  # deleted since the order: the merchant still has the order's copy of the line
        if not product.active or (product.stock is not None and product.stock < item.quantity):
            gone.append(product_name(product, language))
    return gone
