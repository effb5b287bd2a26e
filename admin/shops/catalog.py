"""Importing a shop's products from CSV: parsing and checking every row, then adding or updating by sku."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.errors import ShopError
from admin.shops.tenants import NAME_MAX, require_tenant
from core.clock import SystemClock
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry, Product, Tenant
from core.money import Money, MoneyError
from core.product_text import TRANSLATED_FIELDS, languages
from payments.providers import ENTRIES as PROVIDERS

__all__ = ["CATALOG_COLUMNS", "ImportReport", "import_catalog"]

CATALOG_COLUMNS: Final = (
    "sku",
    "name",
    "price",
    "category",
    "description",
    "photo_url",
    "stock",
    "item_class",
    "tax_type",
)
_REQUIRED_COLUMNS: Final = ("sku", "name", "price", "category")
# Tax types a product may name, for its tax authority (fiscal/: A exempt, B 16%, C zero-rated, D non-VAT, E 8%).
TAX_TYPES: Final = ("A", "B", "C", "D", "E")
SKU_MAX: Final = 64
CATEGORY_MAX: Final = 60
DESCRIPTION_MAX: Final = 1000  # Telegram photo captions hold 1024 characters, with the name and price
PHOTO_URL_MAX: Final = 2048
STOCK_MAX: Final = 2**31 - 1
PRICE_MAX_MINOR: Final = 10**12
PROBLEMS_SHOWN: Final = 10
_DIGITS: Final = re.compile(r"\d+")


def variant_columns() -> tuple[str, ...]:
    """``name_sw``, ``description_fr``…: a product's name and description in each other language the shop's texts
    are in (core/product_text.py), each optional."""
    return tuple(f"{part}_{language}" for language in languages()[1:] for part in TRANSLATED_FIELDS)


@dataclass(frozen=True, slots=True)
class OffStep:
    provider: str
    step: Money  # the smallest amount the provider moves in (ProviderInfo's CurrencyLimits.step_minor)
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    categories: tuple[str, ...] = field(default_factory=tuple)
    # Per payment method of the shop, the prices it cannot take because they are finer than its smallest step (M-Pesa
    # and cents), as "line 3 (SKU): KES 199.50": an order with such a total cannot be paid that way.
    off_step: tuple[OffStep, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(slots=True)
class _Row:
    line: int
    sku: str
    name: str
    price_minor: int
    category: str
    description: str
    photo_url: str | None
    stock: int | None
    item_class: str | None = None  # for a tax authority (fiscal/): the product's classification code, tax type
    tax_type: str | None = None
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


def _translations(values: dict[str, str], reasons: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    limits = {"name": NAME_MAX, "description": DESCRIPTION_MAX}
    for column in variant_columns():
        given = values.get(column, "").strip()
        if not given:
            continue
        what, _, language = column.partition("_")
        if len(given) > limits[what]:
            reasons.append(f"{column} is longer than {limits[what]} characters")
        found.setdefault(language, {})[what] = given
    return found


def _parse_row(values: dict[str, str], currency: str) -> tuple[_Row | None, list[str]]:
    reasons: list[str] = []
    sku = values.get("sku", "").strip()
    if not sku:
        reasons.append("sku is missing")
    elif len(sku) > SKU_MAX or any(ch.isspace() or not ch.isprintable() for ch in sku):
        reasons.append(f"sku must be at most {SKU_MAX} characters without spaces")
    name = values.get("name", "").strip()
    if not name:
        reasons.append("name is missing")
    elif len(name) > NAME_MAX:
        reasons.append(f"name is longer than {NAME_MAX} characters")

    price_minor = 0
    raw_price = values.get("price", "").strip()
    if not raw_price:
        reasons.append("price is missing")
    elif "e" in raw_price.lower():
        reasons.append(f"price {raw_price[:20]!r} is not an amount such as 1250 or 12.50")
    else:
        try:
            price_minor = Money.parse(raw_price, currency).minor
        except MoneyError as exc:
            reasons.append(f"price: {exc}")
        else:
            if price_minor <= 0:
                reasons.append(f"price must be more than 0 (got {raw_price[:20]})")
            elif price_minor > PRICE_MAX_MINOR:
                reasons.append("price is too large")

    category = values.get("category", "").strip()
    if not category:
        reasons.append("category is missing")
    elif len(category) > CATEGORY_MAX:
        reasons.append(f"category is longer than {CATEGORY_MAX} characters")

    description = values.get("description", "").strip()
    if len(description) > DESCRIPTION_MAX:
        reasons.append(f"description is longer than {DESCRIPTION_MAX} characters")

    photo_url: str | None = values.get("photo_url", "").strip() or None
    if photo_url is not None:
        parts = urlsplit(photo_url)
        if (
            parts.scheme != "https"
            or not parts.hostname
            or len(photo_url) > PHOTO_URL_MAX
            or any(ch.isspace() for ch in photo_url)
        ):
            reasons.append("photo_url must be empty or an https:// URL")

    stock: int | None = None
    raw_stock = values.get("stock", "").strip()
    if raw_stock:
        if not _DIGITS.fullmatch(raw_stock):
            reasons.append(f"stock {raw_stock[:20]!r} is not a whole number of 0 or more (leave it empty for no limit)")
        elif int(raw_stock) > STOCK_MAX:
            reasons.append("stock is too large")
        else:
            stock = int(raw_stock)

    item_class = values.get("item_class", "").strip() or None
    if item_class is not None and not (item_class.isdigit() and 2 <= len(item_class) <= 10):
        reasons.append("item_class must be empty or a classification code of 2 to 10 digits")
    tax_type = values.get("tax_type", "").strip().upper() or None
    if tax_type is not None and tax_type not in TAX_TYPES:
        reasons.append(f"tax_type must be empty or one of {', '.join(TAX_TYPES)}")
    translations = _translations(values, reasons)

    if reasons:
        return None, reasons
    row = _Row(0, sku, name, price_minor, category, description, photo_url, stock, item_class, tax_type, translations)
    return row, []


def _parse_catalog(csv_text: str, currency: str) -> list[_Row]:
    text = csv_text.removeprefix("\ufeff")  # Excel's "CSV UTF-8" starts with a byte-order mark
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[str] = []
    rows: list[_Row] = []
    first_line_of: dict[str, int] = {}
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise ShopError("the catalog is empty: the first line names the columns " + ",".join(CATALOG_COLUMNS))
        columns = [cell.strip().lower() for cell in header]
        if len(columns) == 1 and ";" in columns[0]:
            raise ShopError("the catalog's columns are separated by ';': save it as comma-separated CSV")
        unknown = [column for column in columns if column not in (*CATALOG_COLUMNS, *variant_columns())]
        missing = [column for column in _REQUIRED_COLUMNS if column not in columns]
        doubled = sorted({column for column in columns if columns.count(column) > 1})
        if unknown or missing or doubled:
            details = []
            if unknown:
                details.append("unknown columns: " + ", ".join(repr(c[:30]) for c in unknown))
            if missing:
                details.append("missing columns: " + ", ".join(missing))
            if doubled:
                details.append("repeated columns: " + ", ".join(doubled))
            raise ShopError(
                f"line {reader.line_num}: {'; '.join(details)} (the columns are {','.join(CATALOG_COLUMNS)}; "
                f"optional for each language: {','.join(variant_columns())})"
            )

        previous_line = reader.line_num
        for record in reader:
            line = previous_line + 1
            previous_line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(columns):
                problems.append(f"line {line}: more fields than columns (quote a field that holds a comma)")
                continue
            values = dict(zip(columns, record, strict=False))
            row, reasons = _parse_row(values, currency)
            if row is not None and row.sku in first_line_of:
                reasons = [f"sku {row.sku!r} is already on line {first_line_of[row.sku]}"]
                row = None
            if row is None:
                problems.append(f"line {line}: " + "; ".join(reasons))
                continue
            row.line = line
            first_line_of[row.sku] = line
            rows.append(row)
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")

    if problems:
        shown = "; ".join(problems[:PROBLEMS_SHOWN])
        more = len(problems) - PROBLEMS_SHOWN
        suffix = f"; and {more} more" if more > 0 else ""
        count = f"{len(problems)} bad row" + ("s" if len(problems) != 1 else "")
        raise ShopError(f"catalog not imported, nothing written ({count}): {shown}{suffix}", problems)
    if not rows:
        raise ShopError("the catalog has no products: add one line per product under the column names")
    return rows


async def _off_step(session: AsyncSession, tenant: Tenant, rows: list[_Row]) -> tuple[OffStep, ...]:
    """For each payment method the shop has switched on, the rows whose price is finer than its step (its declared
    ``ProviderInfo``): an order with such a total cannot be paid that way (the customer is told so at checkout; the
    merchant is told here, first)."""
    found = []
    for config in await TenantRepository(session).provider_configs(tenant.id):
        entry = PROVIDERS.get(config.provider)
        limits = entry.info.limits(tenant.currency) if entry is not None and config.enabled else None
        if limits is None or limits.step_minor == 1:
            continue
        lines = tuple(
            f"line {row.line} ({row.sku}): {Money(row.price_minor, tenant.currency).format()}"
            for row in rows
            if row.price_minor % limits.step_minor
        )
        if lines:
            found.append(OffStep(config.provider, Money(limits.step_minor, tenant.currency), lines))
    return tuple(found)


async def import_catalog(
    session: AsyncSession, slug: str, csv_text: str, *, now: datetime | None = None
) -> ImportReport:
    """Add or update a shop's products from CSV (``sku,name,price,category,description,photo_url,stock``, and optionally
    ``name_sw``, ``description_fr``… for each other language; price in
    major units such as ``1250`` or ``12.50``, in the shop's currency). Products are matched by sku; products not in
    the file are left alone. All or nothing: any bad row refuses the whole file, naming each bad line."""
    tenant = await require_tenant(session, slug)
    rows = _parse_catalog(csv_text, tenant.currency)
    existing = {
        product.sku: product for product in await session.scalars(select(Product).where(Product.tenant_id == tenant.id))
    }
    created = updated = unchanged = 0
    for row in rows:
        wanted: dict[str, Any] = {
            "name": row.name,
            "price_minor": row.price_minor,
            "currency": tenant.currency,
            "category": row.category,
            "description": row.description,
            "photo_url": row.photo_url,
            "stock": row.stock,
            "item_class": row.item_class,
            "tax_type": row.tax_type,
            "active": True,
            "translations": row.translations,
        }
        product = existing.get(row.sku)
        if product is None:
            session.add(Product(tenant_id=tenant.id, sku=row.sku, **wanted))
            created += 1
        elif any(getattr(product, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(product, key, value)
            updated += 1
        else:
            unchanged += 1
    categories = tuple(sorted({row.category for row in rows}))
    report = ImportReport(created, updated, unchanged, categories, await _off_step(session, tenant, rows))
    TenantRepository(session).audit(
        AuditEntry(
            tenant_id=tenant.id,
            actor_tg_id=None,
            action="catalog.import",
            target=slug,
            allowed=True,
            details={"rows": len(rows), "created": created, "updated": updated, "unchanged": unchanged},
            at=now or SystemClock().now(),
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        raise ShopError(f"the catalog of {slug!r} was changed at the same time by someone else: try again") from None
    return report
