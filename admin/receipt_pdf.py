"""An order's receipt as a PDF document, drawn with fpdf2 (pure Python: no system libraries to install, unlike
WeasyPrint's Pango and Cairo), in the customer's language.

The text is set in DejaVu Sans when the machine has it (Debian's ``fonts-dejavu-core``; the Docker image installs
it): it covers the Latin, Greek and Cyrillic letters of names and addresses, which PDF's built-in fonts do not (they
are Latin-1 only). Without it the built-in Helvetica is used and any character outside Latin-1 prints as "?".

VAT, when the shop charges it, is worked out once on the order's total (not line by line), rounded half up to the
currency's minor unit: VAT = total × rate / (1 + rate). Catalog prices include VAT: checkout charges them as they
are, so the receipt takes VAT out of what was paid and never shows a total other than it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from core.fiscal_stamp import FiscalStamp
from core.money import Money
from core.texts import text

__all__ = ["FONT_DIRECTORIES", "Line", "PaidWith", "Receipt", "Vat", "render", "vat_of"]

# Where DejaVu Sans is found: Debian and Ubuntu, Fedora, Alpine, Arch.
FONT_DIRECTORIES = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
_UNICODE_FAMILY = "DejaVu"
_CORE_FAMILY = "Helvetica"


@dataclass(frozen=True, slots=True)
class Vat:
    rate_bp: int  # basis points: 1600 = 16%
    net: Money
    tax: Money
    gross: Money

    @property
    def rate(self) -> str:
        """``16`` or ``12.5``: the rate as a percentage, without trailing zeros."""
        return format(Decimal(self.rate_bp).scaleb(-2).normalize(), "f")


def vat_of(total: Money, rate_bp: int) -> Vat:
    """The VAT included in an order's ``total`` (see the module's note on rounding)."""
    base = Decimal(total.minor) * rate_bp
    tax = Money(int((base / Decimal(10_000 + rate_bp)).quantize(Decimal(1), rounding=ROUND_HALF_UP)), total.currency)
    return Vat(rate_bp, total - tax, tax, total)


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    quantity: int
    unit_price: Money

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class PaidWith:
    method: str  # the provider's name, in the customer's language
    reference: str  # the provider's own reference (its receipt or transaction id), else ours
    amount: Money
    refunded: Money
    at: str  # in the shop's time zone, as shown


@dataclass(frozen=True, slots=True)
class Receipt:
    language: str
    shop: str
    address: str | None
    tax_id: str | None
    code: str
    placed_at: str  # in the shop's time zone, as shown
    customer: str
    lines: Sequence[Line]
    total: Money
    vat: Vat | None
    payments: Sequence[PaidWith]
    test: bool = False
    stamp: FiscalStamp | None = None
    stamp_time: str | None = None  # the stamp's time in the shop's time zone
    discount: Money | None = None  # a promo code's, fixed on the order: ``total`` is after it
    promo_code: str | None = None


@cache
def _font_files() -> tuple[Path, Path] | None:
    for folder in FONT_DIRECTORIES:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Page:
    """The document being drawn, and the font it is written in."""

    def __init__(self, title: str, fonts: tuple[Path, Path] | None) -> None:
        self.pdf = FPDF(format=(148, 210))  # A5, in millimetres
        self.pdf.set_margins(12, 12, 12)
        self.pdf.set_auto_page_break(True, margin=12)
        self.pdf.set_title(title)
        self.pdf.set_creator("dukabot")
        self.unicode = fonts is not None
        if fonts is not None:
            self.pdf.add_font(_UNICODE_FAMILY, "", str(fonts[0]))
            self.pdf.add_font(_UNICODE_FAMILY, "B", str(fonts[1]))
        self.family = _UNICODE_FAMILY if self.unicode else _CORE_FAMILY
        self.pdf.add_page()

    def fit(self, words: str) -> str:
        """``words`` as the font can print them: the built-in font knows Latin-1 only."""
        return words if self.unicode else words.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, *, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def line(self, words: str, *, size: float = 9, bold: bool = False, align: str = "L") -> None:
        self.font(size, bold=bold)
        self.pdf.multi_cell(0, size * 0.5, self.fit(words), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pair(self, label: str, value: str, *, bold: bool = False) -> None:
        """A label on the left and its amount on the right of one line."""
        self.font(9, bold=bold)
        width = self.pdf.epw
        self.pdf.cell(width * 0.6, 5, self.fit(label))
        self.pdf.cell(width * 0.4, 5, self.fit(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(self, height: float = 3) -> None:
        self.pdf.ln(height)


def render(receipt: Receipt, *, fonts: tuple[Path, Path] | tuple[()] | None = None) -> bytes:
    """The receipt as the bytes of a PDF file. ``fonts``: the regular and bold TrueType files to use; () for PDF's
    built-in font; None (usually) for DejaVu Sans when the machine has it. Takes a few hundred milliseconds of CPU
    (the font is read and subset): call it off the event loop (``asyncio.to_thread``)."""
    lang = receipt.language
    page = _Page(text("pdf.title", lang, code=receipt.code), _font_files() if fonts is None else fonts or None)
    page.line(receipt.shop, size=14, bold=True)
    if receipt.address:
        page.line(receipt.address)
    if receipt.tax_id:
        page.line(text("pdf.tax_id", lang, tax_id=receipt.tax_id))
    page.gap()
    page.line(text("pdf.heading", lang, code=receipt.code), size=12, bold=True)
    if receipt.test:
        page.line(text("pdf.test", lang), bold=True)
    page.line(text("pdf.placed", lang, time=receipt.placed_at))
    page.line(text("pdf.customer", lang, name=receipt.customer))
    page.gap()
    _items(page, receipt)
    page.gap(2)
    _totals(page, receipt)
    page.gap()
    for paid in receipt.payments:
        page.line(text("pdf.paid", lang, amount=paid.amount.format(), method=paid.method, time=paid.at))
        page.line(text("pdf.reference", lang, reference=paid.reference))
        if paid.refunded.minor:
            page.line(text("pdf.refunded", lang, amount=paid.refunded.format()))
    if receipt.stamp is not None:
        page.gap()
        _stamp(page, receipt.stamp, receipt.stamp_time or "", lang)
    page.gap()
    page.line(text("pdf.thanks", lang, shop=receipt.shop), align="C")
    return bytes(page.pdf.output())


def _items(page: _Page, receipt: Receipt) -> None:
    lang = receipt.language
    page.font(9)
    headings = [text(f"pdf.column.{key}", lang) for key in ("item", "quantity", "unit_price", "line_total")]
    with page.pdf.table(
        col_widths=(46, 10, 22, 22),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=5,
        padding=1,
        first_row_as_headings=True,
    ) as table:
        row = table.row()
        for heading in headings:
            row.cell(page.fit(heading))
        for line in receipt.lines:
            row = table.row()
            for value in (line.name, str(line.quantity), line.unit_price.format(), line.total.format()):
                row.cell(page.fit(value))


def _totals(page: _Page, receipt: Receipt) -> None:
    lang, vat = receipt.language, receipt.vat
    if receipt.discount is not None:
        page.pair(text("pdf.discount", lang, code=receipt.promo_code or ""), "−" + receipt.discount.format())
    if vat is None:
        page.pair(text("pdf.total", lang), receipt.total.format(), bold=True)
        return
    page.pair(text("pdf.net_of_vat", lang), vat.net.format())
    page.pair(text("pdf.vat_included", lang, rate=vat.rate), vat.tax.format())
    page.pair(text("pdf.total", lang), vat.gross.format(), bold=True)


def _stamp(page: _Page, stamp: FiscalStamp, signed_at: str, lang: str) -> None:
    """The tax authority's block: who stamped the sale, its invoice number, control unit and signature, and the QR
    code a buyer scans to check it."""
    page.line(stamp.authority, bold=True)
    page.line(text("pdf.fiscal.invoice", lang, number=stamp.invoice_number))
    page.line(text("pdf.fiscal.control_unit", lang, unit=stamp.control_unit))
    page.line(text("pdf.fiscal.signature", lang, signature=stamp.signature))
    if signed_at:
        page.line(text("pdf.fiscal.signed_at", lang, time=signed_at))
    if stamp.qr_payload:
        picture = io.BytesIO()
        segno.make(stamp.qr_payload, error="m").save(picture, kind="png", scale=4, border=2)
        picture.seek(0)
        page.pdf.image(picture, w=30)
