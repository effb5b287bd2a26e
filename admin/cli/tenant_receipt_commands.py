"""``dukabot tenant receipt``: what a shop's PDF receipts print about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from admin.cli.plumbing import echo_ok, in_unit_of_work, load_settings
from core.clock import SystemClock

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from admin.shops.receipt_details import ReceiptDetails

__all__ = ["receipt"]


@click.command("receipt")
@click.argument("slug")
@click.option("--address", help='The shop\'s address as printed; "\\n" starts a new line; "" removes it.')
@click.option("--tax-id", help='The shop\'s tax id (KRA PIN in Kenya), printed on receipts; "" removes it.')
@click.option("--vat-rate", metavar="PERCENT", help="VAT the shop charges, e.g. 16; 0 for none (no VAT lines).")
# Session 7 offered VAT on top of prices; checkout never added it, so such a receipt claimed more than was paid.
@click.option("--prices-exclude-vat", "exclude_vat", is_flag=True, hidden=True)
def receipt(slug: str, address: str | None, tax_id: str | None, vat_rate: str | None, exclude_vat: bool) -> None:
    """Set what the PDF receipts of shop SLUG print about it, and show it.

    \b
    Example:
      dukabot tenant receipt mama-mboga --address "Moi Avenue 12, Nairobi" --tax-id P051234567X --vat-rate 16
    """
    from admin.shops.receipt_details import set_receipt_details

    if exclude_vat:
        raise click.UsageError(
            "prices must include VAT: checkout charges catalog prices as they are and the receipt takes VAT out of "
            "the amount paid; raise the catalog's prices by the VAT rate instead (dukabot catalog import)"
        )

    settings = load_settings()

    async def work(session: AsyncSession) -> ReceiptDetails:
        return await set_receipt_details(
            session,
            slug,
            address=address,
            tax_id=tax_id,
            vat_rate=vat_rate,
            now=SystemClock().now(),
        )

    details = in_unit_of_work(settings, work)
    vat = "none"
    if details.vat_rate_bp:
        vat = f"{details.vat_rate_bp / 100:g}% (included in prices)"
    address_shown = (details.address or "(none)").replace("\n", ", ")
    echo_ok(f"Receipts of {slug!r}: address {address_shown}; tax id {details.tax_id or '(none)'}; VAT {vat}.")
