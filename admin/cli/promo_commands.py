"""``dukabot promo``: a shop's promo codes (the same rules as ``/promo`` in the chat, :mod:`admin.promos`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from admin.cli.plumbing import CliError, echo_ok, in_unit_of_work, load_settings
from core.clock import SystemClock

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["promo"]


@click.group()
def promo() -> None:
    """Promo codes of a shop."""


@promo.command("add")
@click.argument("slug")
@click.argument("words", nargs=-1, required=True)
def promo_add(slug: str, words: tuple[str, ...]) -> None:
    """Create a code for shop SLUG: CODE 10%|AMOUNT [OPTIONS...].

    \b
    AMOUNT       in major units of the shop's currency: 100 or 12.50
    min=AMOUNT   the smallest order (before the discount) it applies to
    from=DATE    until=DATE   2026-12-31 or 2026-12-31T18:00, in the shop's time zone
                 (a bare until=DATE lasts to the end of that day)
    uses=N       how many orders may use it in all;  per=N  how many per customer
    sku=A,B      cat=Tea,Sugar   only these products or categories (_ for a space)

    Codes are case-insensitive and unique in a shop.
    """
    from admin import promos
    from admin.shops import require_tenant
    from core.texts import text

    async def work(session: AsyncSession) -> str:
        tenant = await require_tenant(session, slug)
        try:
            spec = promos.parse_add(list(words), tenant)
        except promos.BadSpec as bad:
            raise CliError(text(f"promo.bad.{bad.what}", "en", word=bad.word)) from None
        made = await promos.create(session, tenant, spec, SystemClock().now())
        if made is None:
            raise CliError(text("promo.exists", "en", code=spec.code))
        return promos.describe(made, tenant, lambda key, **values: text(key, "en", **values))

    echo_ok("Created: " + in_unit_of_work(load_settings(), work))


@promo.command("list")
@click.argument("slug")
def promo_list(slug: str) -> None:
    """The codes of shop SLUG, with their uses and dates (in the shop's time zone)."""
    from admin import promos
    from admin.shops import require_tenant
    from core.db.repos.promos import PromoRepository
    from core.texts import text

    async def work(session: AsyncSession) -> list[str]:
        tenant = await require_tenant(session, slug)
        codes = await PromoRepository(session).for_tenant(tenant.id)
        return [promos.describe(code, tenant, lambda key, **values: text(key, "en", **values)) for code in codes]

    lines = in_unit_of_work(load_settings(), work)
    click.echo("\n".join(lines) if lines else f"Shop {slug!r} has no promo codes.")


def _status_command(action: str, help_text: str) -> None:
    @promo.command(action, help=help_text)
    @click.argument("slug")
    @click.argument("code")
    def run(slug: str, code: str) -> None:
        from admin import promos
        from admin.shops import require_tenant
        from core import promos as rules
        from core.db.repos.promos import PromoRepository

        normalized = rules.normalize(code)
        if normalized is None:
            raise CliError(f"{code[:40]!r} cannot be a promo code")

        async def work(session: AsyncSession) -> None:
            tenant = await require_tenant(session, slug)
            repo = PromoRepository(session)
            found = await repo.by_code(tenant.id, normalized)
            if found is None:
                raise CliError(f"shop {slug!r} has no code {normalized}")
            allowed, status = promos.MOVES[action]
            if not await repo.set_status(tenant.id, normalized, allowed, status):
                raise CliError(f"code {normalized} is {found.status}: that cannot be done now")

        in_unit_of_work(load_settings(), work)
        echo_ok(f"Code {normalized} of {slug!r}: {promos.MOVES[action][1]}.")


_status_command("pause", "Pause code CODE of shop SLUG: customers cannot use it until it is resumed.")
_status_command("resume", "Make paused code CODE of shop SLUG usable again.")
_status_command("end", "End code CODE of shop SLUG for good.")
