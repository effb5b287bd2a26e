"""Inline mode: ``@shopbot sukuma`` typed in any chat lists the shop's products that match (``core.catalog_search``,
as typed search finds them), a page at a time; choosing one posts it in that chat with a button that opens it in the
shop (``/start p_<id>``, :func:`flows.catalog.from_link`), so customers can send a product to a friend.

An inline query comes from anyone, customer of the shop or not, and from no chat of the shop's: it makes no customer
and no conversation, and changes nothing (its update id is recorded, so a redelivery is a duplicate). The asker's
language is the one the shop speaks with them when they are its customer, else their app's. Only the catalog's
active products are listed (the search index holds nothing else)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog_search import Found
from core.db.tables import Customer, Tenant
from core.inline import InlineAnswer, InlineQuery, InlineResult, OpenInBot, product_start
from core.money import Money
from core.texts import choose_language, text
from flows import search
from flows.inbound import Actor

PAGE_SIZE = 20  # results per answer (the network takes up to 50; a phone shows about five at once)
# The network keeps an answer this long for the same asker and words (is_personal): prices change, so briefly.
CACHE_SECONDS = 30
# The offsets we hand out: the position of a page's first result, as digits.
_OFFSET = re.compile(r"[0-9]{1,6}")


async def answer(session: AsyncSession, tenant: Tenant, actor: Actor, asked: InlineQuery) -> tuple[InlineAnswer, bool]:
    """The page of results the query asks for, and whether it was refused: an offset we never gave (forged, or from
    an older release) gets no results and no next page."""
    start = 0 if asked.offset == "" else int(asked.offset) if _OFFSET.fullmatch(asked.offset) else None
    if start is None:
        return InlineAnswer(asked.query_id, (), cache_seconds=CACHE_SECONDS), True
    language = await _language(session, tenant, actor)
    index = await search.INDEXES.index(session, tenant.id, tenant.config_version)
    words = " ".join(asked.query.split())[: search.MAX_QUERY]
    found = index.search(words) if words else index.products  # no words yet: the catalog from its start
    shown = found[start : start + PAGE_SIZE]
    more = start + PAGE_SIZE < len(found)
    results = tuple(_result(tenant, product, language) for product in shown)
    next_offset = str(start + PAGE_SIZE) if more else ""
    return InlineAnswer(asked.query_id, results, next_offset, CACHE_SECONDS), False


async def _language(session: AsyncSession, tenant: Tenant, actor: Actor) -> str:
    """The shop's language with this person: the customer's (chosen with /language, or last settled) when they are
    one, else their app's when dukabot speaks it, else the shop's."""
    known = await session.scalar(
        select(Customer.language).where(Customer.tenant_id == tenant.id, Customer.tg_user_id == actor.tg_user_id)
    )
    return choose_language(known, actor.language, tenant.language)


def _result(tenant: Tenant, product: Found, language: str) -> InlineResult:
    name = product.name_in(language)
    price = Money(product.price_minor, product.currency).format(language)
    button = OpenInBot(text("inline.open", language, shop=tenant.name), product_start(product.id))
    shared = text("inline.shared", language, name=name, price=price, shop=tenant.name)
    return InlineResult(str(product.id), name, f"{price} · {product.category}", shared, button)
