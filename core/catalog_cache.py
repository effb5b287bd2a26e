"""Per-process copies of each shop's shelf: what browsing shows (its categories, and each category's products with
their names and prices), so that moving through the shop reads no catalog from the database.

The invalidation rule is the one every per-tenant cache keeps (:mod:`core.tenant_cache`, rule 2): a change to a
product's name, price, currency, category or active flag, a product added or deleted, gives the tenant a new
``config_version`` in the change's own transaction (the mapper events in :mod:`core.db.tables.config_events`; the one
bulk UPDATE of products, a currency change, stamps it too). A step is handed the tenant row read in its own
transaction, and uses a shelf only when the row's version is the shelf's: exact, across processes, at no cost (the
version rides on the row the step reads anyway).

A shelf is filled by one statement that reads the products together with the tenant's version, so the version it is
kept under is the one its products were read at, on PostgreSQL too (where another transaction may commit between two
statements of a step). A fill that read a version other than the step's is used for that step and not kept.

A shelf also keeps what is drawn from it (a menu of its categories, a page of a category: the same for every chat
that reads one language), under a key naming everything else the drawing read, so a menu is drawn once per version
of the catalog, not on every step.

Stock is not on the shelf: it moves with every payment, and it is never shown from here. A product's own page, the
cart, checkout and the start of a payment read products from the database, so stock and prices where money is
involved are always today's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.db.repos.catalog import CatalogRepository, ShelfItem

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Shelf:
    """A shop's active products by category, in the database's order (categories by name, products by name and id)."""

    version: int
    categories: tuple[str, ...]
    items: dict[str, tuple[ShelfItem, ...]]
    drawn: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    def drawing(self, key: Hashable, draw: Callable[[], T]) -> T:
        """What ``draw`` makes of this shelf, made once: ``key`` names all else it reads (the language, the shop's
        name...). What it makes must never be changed by its users (frozen values)."""
        try:
            made: T = self.drawn[key]
        except KeyError:
            made = self.drawn[key] = draw()
        return made

    def category(self, index: int) -> str | None:
        return self.categories[index] if 0 <= index < len(self.categories) else None

    def index_of(self, category: str) -> int | None:
        try:
            return self.categories.index(category)
        except ValueError:
            return None


def shelf_of(version: int, rows: list[ShelfItem]) -> Shelf:
    """``rows`` in the order :meth:`CatalogRepository.shelf` gives them."""
    items: dict[str, list[ShelfItem]] = {}
    for row in rows:
        items.setdefault(row.category, []).append(row)
    return Shelf(version, tuple(items), {category: tuple(kept) for category, kept in items.items()})


class CatalogCache:
    """One per process (the composition root's update processor holds it). Entries are small (a few words per
    product) and one per shop, replaced when its version moves; ``fills`` counts the reads that went to the
    database (read by tests and benchmarks)."""

    def __init__(self) -> None:
        self._shelves: dict[int, Shelf] = {}
        self.fills = 0

    async def shelf(self, catalog: CatalogRepository, tenant_id: int, version: int) -> Shelf:
        """The shelf of the tenant whose row, read in the caller's transaction, carries ``version``."""
        kept = self._shelves.get(tenant_id)
        if kept is not None and kept.version == version:
            return kept
        self.fills += 1
        read_at, rows = await catalog.shelf(tenant_id)
        shelf = shelf_of(read_at, rows)
        if read_at == version:  # else the catalog moved since the caller read its tenant row: use it, keep nothing
            self._shelves[tenant_id] = shelf
        return shelf

    def drop(self, tenant_id: int | None = None) -> None:
        """Forget a tenant's shelf (every one when None): frees memory; correctness never depends on it."""
        if tenant_id is None:
            self._shelves.clear()
        else:
            self._shelves.pop(tenant_id, None)
