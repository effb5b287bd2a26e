"""The cart: add, change quantities (by button or typed), remove, see the total."""

from __future__ import annotations

from core import cart_reminders
from core.buttons import AskQuantity, Checkout, OneLess, OneMore, RemoveLine, Shop
from core.db.repos.catalog import CatalogRepository
from core.db.repos.customers import CustomerRepository
from core.db.tables import Product
from core.messages import Button, Message, keyboard
from core.money import Money
from core.product_text import product_name
from flows.context import FlowContext, Reply

MAX_QUANTITY = 99  # of one product in one cart line
# A cart row holds four buttons: the product's gets this many characters of its name before it is cut.
BUTTON_NAME = 18


async def cart_lines(ctx: FlowContext) -> list[tuple[Product, int]]:
    items = await CustomerRepository(ctx.session).cart(ctx.customer.id)
    products = await CatalogRepository(ctx.session).by_ids(ctx.tenant.id, [item.product_id for item in items])
    return [
        (products[i.product_id], i.quantity)
        for i in items
        if i.product_id in products and products[i.product_id].active
    ]


def total(lines: list[tuple[Product, int]], currency: str) -> Money:
    amount = Money.zero(currency)
    for product, quantity in lines:
        amount += Money(product.price_minor, product.currency) * quantity
    return amount


async def show_cart(ctx: FlowContext, *, edit: bool = False) -> Message:
    lines = await cart_lines(ctx)
    if not lines:
        return Message(ctx.t("cart.empty"), keyboard([Button(ctx.t("button.shop"), data=Shop().pack())]), edit=edit)
    body = [ctx.t("cart.title")]
    rows: list[list[Button]] = []
    for product, quantity in lines:
        subtotal = Money(product.price_minor, product.currency) * quantity
        body.append(
            ctx.t(
                "cart.line", name=product_name(product, ctx.lang), quantity=quantity, subtotal=subtotal.format(ctx.lang)
            )
        )
        rows.append(
            [
                Button("−", data=OneLess(product.id).pack()),
                Button(_line_label(ctx, product, quantity), data=AskQuantity(product.id).pack()),
                Button("+", data=OneMore(product.id).pack()),
                Button("✕", data=RemoveLine(product.id).pack()),
            ]
        )
    body.append(ctx.t("cart.total", total=total(lines, ctx.tenant.currency).format(ctx.lang)))
    rows.append([Button(ctx.t("button.checkout"), data=Checkout().pack())])
    rows.append([Button(ctx.t("button.shop"), data=Shop().pack())])
    return Message("\n".join(body), keyboard(*rows), edit=edit)


async def change_quantity(ctx: FlowContext, product_id: int, delta: int | None, absolute: int | None = None) -> Reply:
    """Add ``delta`` to the quantity, or set it to ``absolute``. Refuses what the stock or the limits forbid."""
    product = await CatalogRepository(ctx.session).get(ctx.tenant.id, product_id)
    customers = CustomerRepository(ctx.session)
    if product is None or not product.active:
        return Reply([Message(ctx.t("error.stale_button"))])
    current = await customers.cart_quantity(ctx.customer.id, product.id)
    wanted = absolute if absolute is not None else current + (delta or 0)
    limit = _limit(product)
    if wanted > limit:
        key = "cart.only_in_stock" if _short_of_stock(product) else "cart.too_many"
        refusal = ctx.tn(key, limit)
        # A button press gets a short notice; a typed number gets a message, and the question stays open.
        return Reply(notice=refusal, refused=True) if delta else Reply([Message(refusal)], refused=True)
    now = ctx.clock.now()
    await customers.set_cart_quantity(
        ctx.tenant.id,
        ctx.customer.id,
        product.id,
        max(wanted, 0),
        now=now,
        remind_at=cart_reminders.due(ctx.tenant, now),
    )
    await ctx.session.flush()
    if delta is not None and delta > 0 and current == 0:
        return Reply([], notice=ctx.t("cart.added", name=product_name(product, ctx.lang)))
    return Reply([await show_cart(ctx, edit=absolute is None)])


def _line_label(ctx: FlowContext, product: Product, quantity: int) -> str:
    """The cart line's button, "Kenyan Black Tea… · 2 × KES 160": a cut name never runs into the quantity."""
    unit = Money(product.price_minor, product.currency).format(ctx.lang)
    return ctx.t(
        "cart.line_button", name=short_name(product_name(product, ctx.lang), BUTTON_NAME), quantity=quantity, price=unit
    )


def short_name(name: str, room: int) -> str:
    """``name`` in at most ``room`` characters: whole, or cut at a word boundary (mid-word only for a single long
    word) and ended with "…"."""
    name = " ".join(name.split())
    if len(name) <= room:
        return name
    cut = name[: room - 1]
    if name[room - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    if cut.count("(") > cut.count(")") and cut.rindex("(") > 0:  # "Matchboxes (10…" reads as a count: drop it
        cut = cut[: cut.rindex("(")]
    return cut.rstrip(" ,;:-–·(/&") + "…"


def _limit(product: Product) -> int:
    """The most of ``product`` one cart line may hold: the per-line maximum, or the stock when there is less."""
    return MAX_QUANTITY if product.stock is None else max(0, min(MAX_QUANTITY, product.stock))


def _short_of_stock(product: Product) -> bool:
    """Whether the stock, not the per-line maximum, bounds the quantity (and so the customer is told the stock)."""
    return product.stock is not None and product.stock < MAX_QUANTITY


async def ask_quantity(ctx: FlowContext, product_id: int) -> Reply:
    product = await CatalogRepository(ctx.session).get(ctx.tenant.id, product_id)
    if product is None:
        return Reply([Message(ctx.t("error.stale_button"))])
    limit = _limit(product)
    if limit == 0:
        return Reply([Message(ctx.t("cart.sold_out", name=product_name(product, ctx.lang)))])
    ctx.go("cart.quantity", product_id=product.id)
    key = "cart.ask_quantity_stock" if _short_of_stock(product) else "cart.ask_quantity"
    return Reply([Message(ctx.t(key, name=product_name(product, ctx.lang), max=limit))])


async def typed_quantity(ctx: FlowContext, words: str) -> Reply:
    """A typed quantity. Anything but a whole number from 1 to the limit is refused, and nothing changes; taking a
    product out is the cart's ✕ button, so a stray 0 can never empty a line by accident."""
    product = await CatalogRepository(ctx.session).get(ctx.tenant.id, int(ctx.recall("product_id", 0)))
    if product is None or not product.active:
        ctx.go("idle")
        return Reply([Message(ctx.t("error.stale_button"))])
    if _limit(product) == 0:  # sold out since the question
        ctx.go("idle")
        return Reply([Message(ctx.t("cart.sold_out", name=product_name(product, ctx.lang)))])
    cleaned = words.strip()
    # isdecimal, not isdigit: "²" is a digit that int() refuses, and it would crash the update handler.
    if not cleaned.isdecimal() or len(cleaned) > 3 or int(cleaned) == 0:
        limit = _limit(product)
        key = "cart.bad_quantity_stock" if _short_of_stock(product) else "cart.bad_quantity"
        return Reply([Message(ctx.t(key, max=limit, example=min(2, limit)))], refused=True)
    reply = await change_quantity(ctx, product.id, None, absolute=int(cleaned))
    if not reply.refused:
        ctx.go("idle")
    return reply
