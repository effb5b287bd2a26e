"""``dukabot orders export``: a shop's orders and payments for the accountant (``admin.exports``).

It lives beside the root command rather than in ``admin.cli`` because it takes the process's fiscal stamps from the
composition root (``webhooks.fiscal``). Only Click is imported up front, as in every command module.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from admin.exports import Export

__all__ = ["orders"]

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group()
def orders() -> None:
    """A shop's orders and payments."""


@orders.command("export")
@click.argument("slug")
@click.option("--from", "first", type=_DATE, required=True, metavar="DATE", help="First day, YYYY-MM-DD.")
@click.option("--to", "last", type=_DATE, required=True, metavar="DATE", help="Last day (included), YYYY-MM-DD.")
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--include-test", is_flag=True, help="Also the test orders and payments (left out by default).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (default: standard output; needed for xlsx on a terminal).",
)
def orders_export(
    slug: str, first: datetime, last: datetime, file_format: str, include_test: bool, output: Path | None
) -> None:
    """Orders and payments of shop SLUG from --from to --to (whole days in the shop's time zone, a year at most).

    \b
    One row per order and one per payment that moved money in the period: amounts in major units, currency, the
    provider's reference, refunds and the eTIMS invoice number. The payments' "paid" and "refunded" add up to
    /sales for the same days.
    \b
    Example:
      dukabot orders export mama-mboga --from 2026-11-01 --to 2026-11-30 --format xlsx -o november.xlsx
    """
    from admin.cli.plumbing import CliError, echo_ok, in_unit_of_work, load_settings
    from admin.exports import ExportError, build, day_range
    from admin.shops.errors import ShopError
    from core.db.repos.tenants import TenantRepository
    from core.shoptime import shop_zone
    from webhooks.fiscal import fiscal_stamps

    if output is None and file_format == "xlsx" and sys.stdout.isatty():
        raise click.UsageError("an xlsx file is not for a terminal: give --output FILE")
    settings = load_settings()
    fiscal = fiscal_stamps(settings)

    async def work(session: AsyncSession) -> Export:
        tenant = await TenantRepository(session).by_slug(slug)
        if tenant is None:
            raise ShopError(f"no shop with slug {slug[:60]!r}")
        try:
            start, end = day_range(first.date(), last.date(), shop_zone(tenant))
        except ExportError as error:
            raise CliError(str(error)) from None
        return await build(session, tenant, start, end, fiscal, include_test=include_test)

    export = in_unit_of_work(settings, work)
    data = export.render(file_format)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    echo_ok(
        f"Exported {slug!r} {first:%Y-%m-%d} to {last:%Y-%m-%d}: orders {export.orders}, payments {export.payments}; "
        f"paid {export.money(export.gross)}, refunded {export.money(export.refunds)} → {output}"
    )
