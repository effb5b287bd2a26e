"""The operator's side of :mod:`payments.currency_check`: a payment method that cannot take the shop's currency is
refused by ``dukabot provider set``, saying what it takes, and nothing is stored; a shop's new currency that one of its
enabled methods cannot take is refused by ``dukabot tenant edit`` the same way, unless that change disables them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.errors import ShopError
from core.db.tables import ProviderConfig
from payments.base import ProviderEntry
from payments.currency_check import accepted, converts, takes_currency
from payments.providers import ENTRIES


def refuse_other_currency(entry: ProviderEntry, slug: str, currency: str, options: Mapping[str, Any]) -> None:
    """ShopError unless ``entry`` can take ``currency``, the currency shop ``slug`` sells in."""
    if takes_currency(entry, currency, options):
        return
    conversion = " (or set its conversion options)" if converts(entry) else ""
    raise ShopError(
        f"{entry.info.title()} does not take {currency}, the currency of {slug!r}: it takes "
        f"{', '.join(accepted(entry))}{conversion}; nothing was changed"
    )


async def refusing_currency(session: AsyncSession, tenant_id: int, currency: str) -> list[ProviderConfig]:
    """The shop's enabled payment methods that cannot take ``currency`` (``dukabot tenant edit --currency``)."""
    configs = await session.scalars(
        select(ProviderConfig)
        .where(ProviderConfig.tenant_id == tenant_id, ProviderConfig.enabled.is_(True))
        .order_by(ProviderConfig.provider)
    )
    return [
        config
        for config in configs
        if (entry := ENTRIES.get(config.provider)) is not None
        and not takes_currency(entry, currency, config.options or {})
    ]


def what_they_take(configs: Sequence[ProviderConfig]) -> str:
    """``M-Pesa takes KES; PayPal takes USD, EUR (or set its conversion options)``: for a refusal."""
    said = []
    for config in configs:
        entry = ENTRIES[config.provider]
        conversion = " (or set its conversion options)" if converts(entry) else ""
        said.append(f"{entry.info.title()} takes {', '.join(accepted(entry))}{conversion}")
    return "; ".join(said)
