"""Finding products by typed words: one index per shop and catalog version, built once and kept beside the shelves
(core.catalog_cache), so a search reads no catalog from the database while the version holds.

Words are compared folded (case, accents and punctuation dropped: "Maïs" finds "mais"), whole, as the start of a
longer word ("pish" finds "Pishori"), or one or two letters off ("sukar" finds "Sugar"; two only in long words, so
short words do not match everything). The query's words are first matched against the shop's vocabulary (a few
hundred distinct words), then the products are scored from the matches: a name counts most, then the sku, then the
description. A product may carry several names (the shop's, and its translations when there are some): each is
indexed, so a customer finds it by whichever they type.

The same version rule as the shelves: an index is used only when the tenant row the step read carries its version;
the columns a search reads (name, description, sku, category, price, active) all move that version
(core.db.tables.config_events). Indexes are dropped least-recently-used past ``limit`` shops, so a process serving a
thousand shops holds only the ones being searched.
"""

from __future__ import annotations

import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Product, Tenant

# Points one query word earns a product, by where it matched and how.
_NAME, _SKU, _DESCRIPTION = 10, 8, 3
_EXACT, _PREFIX, _NEAR = 1.0, 0.7, 0.5
MIN_PREFIX = 3  # a shorter word matches only whole words ("to" is no prefix of "tomato")
MIN_WORD = 2  # a lone letter or digit ("a", "²") looks for nothing


@dataclass(frozen=True, slots=True)
class Found:
    """A product a search found, with what its result button shows: ``name`` is the shop's, ``names`` its names in
    other languages (language, name), so each reader sees theirs (:meth:`name_in`)."""

    id: int
    name: str
    price_minor: int
    currency: str
    category: str
    names: tuple[tuple[str, str], ...] = ()

    def name_in(self, language: str) -> str:
        """The product's name in ``language`` where the catalog has one, else the shop's."""
        code = language.partition("-")[0]
        return next((name for spoken, name in self.names if spoken == code), self.name)


def fold(text: str) -> str:
    """``text`` as searched: accents and case dropped, anything but letters and digits a space."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return "".join(c if c.isalnum() else " " for c in plain)


def words(text: str) -> list[str]:
    return fold(text).split()


def near(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are one edit apart (two when both are seven letters or more); a bounded Levenshtein
    that gives up as soon as a row passes the bound."""
    bound = 2 if min(len(a), len(b)) >= 7 else 1 if min(len(a), len(b)) >= 4 else 0
    if bound == 0 or abs(len(a) - len(b)) > bound:
        return False
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        if min(current) > bound:
            return False
        previous = current
    return previous[-1] <= bound


@dataclass
class SearchIndex:
    """A shop's products and, for each distinct word, the points each product holds for it (its best field)."""

    version: int
    products: list[Found]
    postings: dict[str, dict[int, int]] = field(default_factory=dict)

    def add(self, position: int, text: str, weight: int) -> None:
        for word in words(text):
            held = self.postings.setdefault(word, {})
            held[position] = max(held.get(position, 0), weight)

    def search(self, query: str) -> list[Found]:
        """The products matching the most of the query's words, best first."""
        scores: dict[int, float] = {}
        matched: dict[int, int] = {}
        for typed in dict.fromkeys(w for w in words(query) if len(w) >= MIN_WORD):
            best: dict[int, float] = {}
            for word, held in self.postings.items():
                how = _how(typed, word)
                if how:
                    for position, weight in held.items():
                        best[position] = max(best.get(position, 0.0), weight * how)
            for position, points in best.items():
                scores[position] = scores.get(position, 0.0) + points
                matched[position] = matched.get(position, 0) + 1
        if not scores:
            return []
        most = max(matched.values())
        ranked = sorted(
            (p for p in scores if matched[p] == most),
            # Equal points: the shorter name first ("Sugar 1kg" before "Brown Sugar 1kg" for "sugar").
            key=lambda p: (-scores[p], len(words(self.products[p].name)), self.products[p].name.casefold(), p),
        )
        return [self.products[p] for p in ranked]


def _how(typed: str, word: str) -> float:
    if typed == word:
        return _EXACT
    if len(typed) >= MIN_PREFIX and word.startswith(typed):
        return _PREFIX
    return _NEAR if near(typed, word) else 0.0


@dataclass(frozen=True, slots=True)
class Indexed:
    """One product as the index reads it: ``names`` are every name it is known by (the first is the shop's),
    ``translated`` its names in other languages as (language, name)."""

    id: int
    names: tuple[str, ...]
    sku: str
    description: str
    price_minor: int
    currency: str
    category: str
    translated: tuple[tuple[str, str], ...] = ()


def index_of(version: int, rows: list[Indexed]) -> SearchIndex:
    index = SearchIndex(
        version, [Found(r.id, r.names[0], r.price_minor, r.currency, r.category, r.translated) for r in rows]
    )
    for position, row in enumerate(rows):
        for name in row.names:
            index.add(position, name, _NAME)
        index.add(position, row.sku, _SKU)
        index.add(position, fold(row.sku).replace(" ", ""), _SKU)  # "GRO-RICE-2KG" typed as "groRice2kg" too
        index.add(position, row.description, _DESCRIPTION)
    return index


# The tenant's version with every active product, as the shelf reads them (core.db.repos.catalog): one statement, so
# the version is the one the products were read at.
_SEARCHED = (
    select(
        Tenant.config_version,
        Product.id,
        Product.name,
        Product.sku,
        Product.description,
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


async def read_index(session: AsyncSession, tenant_id: int) -> SearchIndex:
    rows = (await session.execute(_SEARCHED, {"tenant_id": tenant_id})).all()
    version = int(rows[0][0]) if rows else 0
    products = []
    for r in rows:
        if r[1] is None:
            continue
        # its names in other languages (the catalog's name_sw, name_fr...), after the default one
        translated = tuple(
            (language, variant["name"]) for language, variant in (r[8] or {}).items() if variant.get("name")
        )
        products.append(
            Indexed(
                id=r[1],
                names=(r[2], *(name for _, name in translated)),
                sku=r[3],
                description=r[4] or "",
                price_minor=r[5],
                currency=r[6],
                category=r[7],
                translated=translated,
            )
        )
    return index_of(version, products)


class SearchCache:
    """One per process, like :class:`core.catalog_cache.CatalogCache`; at most ``limit`` shops' indexes, the least
    recently searched dropped first. ``fills`` counts the reads that went to the database."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._indexes: OrderedDict[int, SearchIndex] = OrderedDict()
        self.fills = 0

    async def index(self, session: AsyncSession, tenant_id: int, version: int) -> SearchIndex:
        kept = self._indexes.get(tenant_id)
        if kept is not None and kept.version == version:
            self._indexes.move_to_end(tenant_id)
            return kept
        self.fills += 1
        index = await read_index(session, tenant_id)
        if index.version == version:  # else the catalog moved since the caller read its tenant row: keep nothing
            self._indexes[tenant_id] = index
            self._indexes.move_to_end(tenant_id)
            while len(self._indexes) > self.limit:
                self._indexes.popitem(last=False)
        return index

    def __len__(self) -> int:
        return len(self._indexes)
