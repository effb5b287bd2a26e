"""``dukabot catalog``: importing a shop's products from CSV."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

import click

from admin.cli.plumbing import CliError, echo_ok, echo_warning, in_unit_of_work, load_settings
from core.clock import SystemClock

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from admin.shops import OffStep

__all__ = ["catalog"]


@click.group()
def catalog() -> None:
    """Products of a shop."""


@catalog.command("import")
@click.argument("slug")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def catalog_import(slug: str, file: IO[str]) -> None:
    """Add or update the products of shop SLUG from a CSV FILE ('-' reads standard input).

    \b
    Columns: sku,name,price,category,description,photo_url,stock,item_class,tax_type
      price      in major units of the shop's currency: 1250 or 12.50
      photo_url  empty, or an https:// URL
      stock      empty for no limit, or a whole number
      item_class, tax_type  optional, for a tax authority (dukabot fiscal): a classification code, A-E

    Products are matched by sku: known ones are updated, new ones added, others left alone. A file with any bad
    row is refused as a whole, naming each bad line.
    """
    from admin import shops

    try:
        text = file.read()
    except UnicodeDecodeError:
        raise CliError(f"{file.name} is not UTF-8 text: save it as 'CSV UTF-8'") from None
    settings = load_settings()

    async def work(session: AsyncSession) -> shops.ImportReport:
        return await shops.import_catalog(session, slug, text, now=SystemClock().now())

    report = in_unit_of_work(settings, work)
    # No "(s)" plurals: the count comes after its word.
    echo_ok(
        f"Catalog of {slug!r} imported. Products: {report.total} ({report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged)."
    )
    click.echo(f"  categories: {', '.join(report.categories)}")
    for off in report.off_step:
        echo_warning("Warning: " + _off_step_words(off))
        for line in off.lines:
            echo_warning(f"  {line}")


def _off_step_words(off: OffStep) -> str:
    """The provider's own words for prices finer than its step (``<name>.catalog.off_step``), or plain ones."""
    from core.texts import has, text
    from payments.providers import ENTRIES

    if has(f"{off.provider}.catalog.off_step"):
        return text(f"{off.provider}.catalog.off_step")
    title = ENTRIES[off.provider].info.title()
    return (
        f"{title} takes amounts in steps of {off.step.format()} only, and these prices are not: an order whose total "
        f"is not cannot be paid by {title} (the customer is told why at checkout)."
    )
