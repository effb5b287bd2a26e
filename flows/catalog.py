"""Browsing: categories, a page of products, one product (also opened by a ``/start p_<id>`` link)."""

from __future__ import annotations

import re

from core.buttons import AddToCart, Category, Shop, ShowCart, ShowProduct
from core.catalog_cache import Shelf, shelf_of
from core.db.repos.catalog import CatalogRepository, ShelfItem
from core.db.repos.customers import CustomerRepository
from core.db.tables import Product
from core.inline import PRODUCT_LINK_PREFIX
from core.messages import Button, Message, keyboard
from core.money import Money
from core.product_text import product_description, product_name
from flows.context import FlowContext

PAGE_SIZE = 8
_PRODUCT_ID = re.compile(r"[0-9]{1,18}")  # a product id as a link carries it (a BIGINT's digits at most)


def price(product: Product | ShelfItem, language: str = "en") -> str:
    return Money(product.price_minor, product.currency).format(language)


async def shelf(ctx: FlowContext) -> Shelf:
    """The shop's categories and products as browsing shows them: the process's copy when it is the tenant row's
    version (core.catalog_cache), else read now."""
    catalog = CatalogRepository(ctx.session)
    if ctx.catalog is not None:
        return await ctx.catalog.shelf(catalog, ctx.tenant.id, ctx.tenant.config_version)
    return shelf_of(*await catalog.shelf(ctx.tenant.id))


async def show_categories(ctx: FlowContext, *, edit: bool = False) -> Message:
    shown = await shelf(ctx)  # drawn once per catalog version (core.catalog_cache)
    return shown.drawing(("categories", ctx.lang, ctx.tenant.name, edit), lambda: _categories(ctx, shown, edit))


def _categories(ctx: FlowContext, shown: Shelf, edit: bool) -> Message:
    categories = shown.categories
    if not categories:
        return Message(ctx.t("shop.empty"), edit=edit)
    rows = [[Button(name, data=Category(index, 0).pack())] for index, name in enumerate(categories)]
    rows.append([Button(ctx.t("button.cart"), data=ShowCart().pack())])
    return Message(ctx.t("shop.categories", shop=ctx.tenant.name), keyboard(*rows), edit=edit)


async def show_category(ctx: FlowContext, index: int, page: int) -> Message | None:
    shown = await shelf(ctx)
    return shown.drawing(("category", ctx.lang, index, page), lambda: _category_page(ctx, shown, index, page))


def _category_page(ctx: FlowContext, shown: Shelf, index: int, page: int) -> Message | None:
    category = shown.category(index)
    if category is None or page < 0:
        return None
    items = shown.items[category]
    products, total = items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], len(items)
    if not products:
        return None
    rows = [
        [Button(f"{product_name(p, ctx.lang)} · {price(p, ctx.lang)}", data=ShowProduct(p.id).pack())] for p in products
    ]
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    nav = []
    if page > 0:
        nav.append(Button(ctx.t("button.previous"), data=Category(index, page - 1).pack()))
    if page + 1 < pages:
        nav.append(Button(ctx.t("button.next"), data=Category(index, page + 1).pack()))
    rows.append(nav)
    rows.append(
        [
            Button(ctx.t("button.categories"), data=Shop().pack()),
            Button(ctx.t("button.cart"), data=ShowCart().pack()),
        ]
    )
    title = ctx.t("shop.category", category=category, page=page + 1, pages=pages)
    return Message(title, keyboard(*rows), edit=True)


async def show_product(ctx: FlowContext, product_id: int) -> Message | None:
    product = await CatalogRepository(ctx.session).get(ctx.tenant.id, product_id)
    if product is None or not product.active:
        return None
    in_cart = await CustomerRepository(ctx.session).cart_quantity(ctx.customer.id, product.id)
    lines = [product_name(product, ctx.lang), price(product, ctx.lang)]
    if description := product_description(product, ctx.lang):
        lines.append(description)
    if product.stock is not None:
        lines.append(ctx.t("product.stock", count=product.stock) if product.stock > 0 else ctx.t("product.sold_out"))
    if in_cart:
        lines.append(ctx.t("product.in_cart", count=in_cart))
    back = (await shelf(ctx)).index_of(product.category) or 0
    rows = []
    if product.stock is None or product.stock > 0:
        rows.append([Button(ctx.t("button.add_to_cart"), data=AddToCart(product.id).pack())])
    rows.append(
        [
            Button(ctx.t("button.back"), data=Category(back, 0).pack()),
            Button(ctx.t("button.cart"), data=ShowCart().pack()),
        ]
    )
    return Message("\n".join(lines), keyboard(*rows), photo=product.photo_url or None)


async def from_link(ctx: FlowContext, argument: str) -> list[Message] | None:
    """``/start p_<id>`` (a product shared from inline mode, ``flows.inline``): the product's card; for a product
    this shop does not sell now (another shop's, hidden, deleted, or no id at all), why not and the categories.
    None: not a product link."""
    if not argument.startswith(PRODUCT_LINK_PREFIX):
        return None
    wanted = argument[len(PRODUCT_LINK_PREFIX) :]
    card = await show_product(ctx, int(wanted)) if _PRODUCT_ID.fullmatch(wanted) else None
    if card is not None:
        return [card]
    return [Message(ctx.t("product.link_unknown")), await show_categories(ctx)]
