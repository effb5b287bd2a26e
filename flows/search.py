"""Typed words in the shop find products (core.catalog_search): a page of results as buttons, the next pages by
button; when nothing matches, the open question again (in the shop, its categories). Only where no step waits for a
typed answer (a name, a phone, a quantity, a proof reference): those steps take the words first."""

from __future__ import annotations

from dataclasses import dataclass

from core.buttons import Shop, ShowCart, ShowProduct
from core.callbacks import CallbackData
from core.catalog_search import Found, SearchCache, SearchIndex
from core.messages import Button, Message, keyboard
from core.money import Money
from flows import catalog
from flows.buttons import CUSTOMER, shop_now
from flows.context import FlowContext, Reply
from flows.inbound import Inbound, Kind

PAGE_SIZE = 8
MAX_QUERY = 100  # characters of a query kept for its next pages
# The process's indexes, like the shelves' cache: keyed by tenant and catalog version, bounded, never needed for
# correctness (a missing one is read again).
INDEXES = SearchCache()


@dataclass(frozen=True)
class SearchPage(CallbackData, prefix="found"):
    """Another page of the last search's results (the query is kept in the conversation, not in the button)."""

    page: int


async def index(ctx: FlowContext) -> SearchIndex:
    return await INDEXES.index(ctx.session, ctx.tenant.id, ctx.tenant.config_version)


async def typed(ctx: FlowContext, inbound: Inbound) -> Reply | None:
    """Words typed in the shop that no step or button took: their results, or None when this is no search (another
    step, no word to look for) or nothing matches: the caller then answers as it always has (the open question again,
    which in the shop is its categories or a page of products; else the help with its Shop button)."""
    if inbound.kind is not Kind.TEXT or ctx.conversation.step != "idle":
        return None
    query = " ".join(inbound.text.split())[:MAX_QUERY]
    found = (await index(ctx)).search(query)
    if not found:
        return None
    ctx.remember(search=query)
    return Reply([_page(ctx, query, found, 0, edit=False)])


def _page(ctx: FlowContext, query: str, found: list[Found], page: int, *, edit: bool) -> Message:
    pages = (len(found) + PAGE_SIZE - 1) // PAGE_SIZE
    shown = found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [
        [
            Button(
                f"{p.name_in(ctx.lang)} · {Money(p.price_minor, p.currency).format(ctx.lang)}",
                data=ShowProduct(p.id).pack(),
            )
        ]
        for p in shown
    ]
    nav = []
    if page > 0:
        nav.append(Button(ctx.t("button.previous"), data=SearchPage(page - 1).pack()))
    if page + 1 < pages:
        nav.append(Button(ctx.t("button.next"), data=SearchPage(page + 1).pack()))
    rows.append(nav)
    rows.append(
        [Button(ctx.t("button.categories"), data=Shop().pack()), Button(ctx.t("button.cart"), data=ShowCart().pack())]
    )
    title = ctx.t("search.results", query=query, count=len(found), page=page + 1, pages=pages)
    return Message(title, keyboard(*rows), edit=edit)


@CUSTOMER.on(SearchPage, expired=shop_now)
async def _next_page(ctx: FlowContext, button: SearchPage) -> Reply:
    query = ctx.recall("search")
    found = (await index(ctx)).search(query) if isinstance(query, str) else []
    if button.page < 0 or button.page * PAGE_SIZE >= len(found):  # another search since, or the catalog changed
        return Reply([await catalog.show_categories(ctx)], notice=ctx.t("error.stale_button"))
    return Reply([_page(ctx, str(query), found, button.page, edit=True)])
