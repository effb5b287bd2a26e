"""Changing a shop's name, currency, region, time zone, language and cart-reminder delay after it was created
(``dukabot tenant edit``).

The currency is the one change that can break what is already there: orders, payments, refunds and /sales are
counted in it. So it changes only while the shop has no order in the old currency, and the database decides that:
one UPDATE with the condition, after taking the shop's row lock. That lock also waits for an order being placed at
this moment (inserting an order locks its shop's row against this lock until the order commits), so the condition
sees it. (A checkout that read the old currency before the change and writes its order after it is not stopped
here: that would take the order's currency tied to its shop's in the schema.) Products priced in the old currency are
hidden until the catalog is imported again in the new one.

A new currency that one of the shop's enabled payment methods cannot take (:mod:`payments.currency_check`, what
``dukabot provider set`` asks) is refused too, naming those methods and what they take, unless the operator asks for
them to be disabled with the change (``disable_providers``): a shop never offers a method that cannot charge its
prices. Refusing is the default because disabling a method silently would leave customers with fewer ways to pay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.currencies import refusing_currency, what_they_take
from admin.shops.errors import ShopError
from admin.shops.tenants import check_currency, check_language, check_name, check_region
from core.db.config_version import stamp
from core.db.tables import AuditEntry, Order, Product, ProviderConfig, Tenant
from core.shoptime import is_known_zone

__all__ = ["Edit", "check_cart_reminder", "check_timezone", "edit_tenant", "shown_delay"]

FIELDS = ("name", "currency", "region", "timezone", "language", "cart_reminder_minutes")
# The shortest and longest time a cart may wait for its reminder: sooner would nag a customer still choosing.
REMINDER_MINUTES = (30, 7 * 24 * 60)
Value = str | int | None


@dataclass(frozen=True, slots=True)
class Edit:
    """What ``edit_tenant`` did: each changed field with its old and new value, the products hidden and the payment
    methods disabled by a currency change; or why it changed nothing (``refused``, audited)."""

    changes: dict[str, tuple[Value, Value]] = field(default_factory=dict)
    hidden_products: int = 0
    disabled_providers: tuple[str, ...] = ()
    refused: str | None = None


def check_timezone(zone: str) -> str | None:
    """An IANA zone such as ``Africa/Nairobi``; empty means the region's usual zone (None)."""
    zone = zone.strip()
    if not zone:
        return None
    if len(zone) > 64 or not is_known_zone(zone):
        raise ShopError(f"unknown time zone {zone[:40]!r}: use an IANA name such as Africa/Nairobi or Africa/Lagos")
    return zone


def check_cart_reminder(given: str) -> int:
    """How long an untouched cart waits for its reminder, in minutes: ``6h``, ``90m``, ``2d``, a bare number of hours,
    or ``off`` (0: no reminders)."""
    words = given.strip().lower().replace(" ", "")
    if words in ("off", "0", "none", "no"):
        return 0
    units = {"m": 1, "min": 1, "h": 60, "d": 24 * 60}
    number, unit = words, "h"
    for suffix in sorted(units, key=len, reverse=True):
        if words.endswith(suffix):
            number, unit = words[: -len(suffix)], suffix
            break
    low, high = REMINDER_MINUTES
    if not number.isdecimal() or len(number) > 5 or not low <= int(number) * units[unit] <= high:
        raise ShopError(
            f"cart reminder delay {given[:20]!r}: give a time from 30m to 7d (e.g. 6h, 90m, 1d), or off for none"
        )
    return int(number) * units[unit]


def shown_delay(minutes: int) -> str:
    """``6h``, ``90m``, ``off``: a cart-reminder delay as the operator types it."""
    if minutes <= 0:
        return "off"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


async def edit_tenant(
    session: AsyncSession,
    slug: str,
    *,
    name: str | None = None,
    currency: str | None = None,
    region: str | None = None,
    timezone: str | None = None,
    language: str | None = None,
    cart_reminder: str | None = None,
    disable_providers: bool = False,
    now: datetime,
) -> Edit:
    """Change the given fields of the shop (None: leave it). Bad input raises ShopError and changes nothing; a
    currency change refused because of existing orders, or of enabled payment methods that cannot take the new
    currency (unless ``disable_providers``: they are disabled with it), changes nothing either, and is audited
    (commit it)."""
    wanted: dict[str, Value] = {}
    if name is not None:
        wanted["name"] = check_name(name)
    if currency is not None:
        wanted["currency"] = check_currency(currency)
    if region is not None:
        wanted["region"] = check_region(region)
    if timezone is not None:
        wanted["timezone"] = check_timezone(timezone)
    if language is not None:
        wanted["language"] = check_language(language)
    if cart_reminder is not None:
        wanted["cart_reminder_minutes"] = check_cart_reminder(cart_reminder)
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug).with_for_update())
    if tenant is None:
        raise ShopError(f"no shop with slug {slug[:60]!r}")
    changes = {key: (getattr(tenant, key), value) for key, value in wanted.items() if getattr(tenant, key) != value}
    if not changes:
        return Edit()

    statement = update(Tenant).where(Tenant.id == tenant.id).values({key: new for key, (_, new) in changes.items()})
    old_currency = tenant.currency
    unable: list[ProviderConfig] = []
    if "currency" in changes:
        statement = statement.where(~exists().where(Order.tenant_id == tenant.id, Order.currency == old_currency))
        unable = await refusing_currency(session, tenant.id, str(changes["currency"][1]))
    orders = 0
    if unable and not disable_providers:
        # The orders' reason first: disabling the methods would not let this change through while there are orders.
        orders = await _orders_in(session, tenant, old_currency)
    if unable and not disable_providers and not orders:
        names = [config.provider for config in unable]
        session.add(_audit(tenant, now, changes, {"reason": f"providers: {', '.join(names)}"}, allowed=False))
        await session.flush()
        return Edit(
            refused=f"the currency of {tenant.slug!r} stays {old_currency}: its payment methods "
            f"{', '.join(names)} cannot take {changes['currency'][1]} ({what_they_take(unable)}); nothing was "
            f"changed. Give --disable-providers to disable them with the change"
        )
    result = None if orders else await session.execute(statement.execution_options(synchronize_session=False))
    if result is None or not getattr(result, "rowcount", 0):
        orders = orders or await _orders_in(session, tenant, old_currency)
        session.add(_audit(tenant, now, changes, {"reason": f"orders in {old_currency}"}, allowed=False))
        await session.flush()
        return Edit(
            refused=f"the currency of {tenant.slug!r} stays {old_currency}: it has orders in {old_currency} "
            f"(count: {orders}), and its sales and refunds are counted in it"
        )

    await stamp(session, [tenant.id])  # a bulk UPDATE: the caches of this shop (its name, currency) see it by this
    hidden = 0
    if "currency" in changes:
        hiding = await session.execute(
            update(Product)
            .where(Product.tenant_id == tenant.id, Product.currency == old_currency, Product.active.is_(True))
            .values(active=False)
            .execution_options(synchronize_session=False)
        )
        hidden = int(getattr(hiding, "rowcount", 0) or 0)
    disabled = tuple(config.provider for config in unable)
    for config in unable:
        config.enabled = False
        config.updated_at = now
    details: dict[str, object] = {"hidden_products": hidden} if "currency" in changes else {}
    if disabled:
        details["disabled_providers"] = list(disabled)
    session.add(_audit(tenant, now, changes, details))
    await session.flush()
    await session.refresh(tenant)
    return Edit(changes, hidden, disabled)


async def _orders_in(session: AsyncSession, tenant: Tenant, currency: str) -> int:
    counted = await session.scalar(
        select(func.count()).select_from(Order).where(Order.tenant_id == tenant.id, Order.currency == currency)
    )
    return int(counted or 0)


def _audit(
    tenant: Tenant,
    now: datetime,
    changes: dict[str, tuple[Value, Value]],
    details: dict[str, object],
    *,
    allowed: bool = True,
) -> AuditEntry:
    return AuditEntry(
        tenant_id=tenant.id,
        actor_tg_id=None,  # the operator
        action="tenant.edit",
        target=tenant.slug,
        allowed=allowed,
        details={**{key: [old, new] for key, (old, new) in changes.items()}, **details},
        at=now,
    )
