"""The sums a PDF receipt and an export print: VAT and its rounding, the shop's VAT rate as typed, the periods an
export covers; and the receipt when the machine has no Unicode font."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from admin.exports import MAX_DAYS, ExportError, day_range, month_range
from admin.receipt_pdf import Line, PaidWith, Receipt, render, vat_of
from admin.shops.errors import ShopError
from admin.shops.receipt_details import parse_vat_rate
from core.money import Money

NAIROBI = ZoneInfo("Africa/Nairobi")


def kes(minor: int) -> Money:
    return Money(minor, "KES")


def test_vat_inside_prices_is_taken_out_of_the_total_and_rounded_half_up() -> None:
    vat = vat_of(kes(89_000), 1600)  # 890 × 16/116 = 122.7586…
    assert (vat.net, vat.tax, vat.gross, vat.rate) == (kes(76_724), kes(12_276), kes(89_000), "16")
    half = vat_of(kes(2_025), 1250)  # 20.25 × 12.5/112.5 = 2.25 exactly
    assert (half.tax, half.net, half.rate) == (kes(225), kes(1_800), "12.5")
    assert vat_of(Money(1_000, "UGX"), 1800).tax == Money(153, "UGX")  # 152.54 → 153 shillings


def test_vat_never_changes_the_total_paid() -> None:
    for minor in (1, 5, 99, 19_000, 123_456_789):
        vat = vat_of(kes(minor), 1600)
        assert (vat.gross, vat.net + vat.tax) == (kes(minor), kes(minor))


@pytest.mark.parametrize(
    ("typed", "basis_points"), [("16", 1600), ("16%", 1600), ("12.5", 1250), ("0", None), ("", None)]
)
def test_a_vat_rate_as_the_operator_types_it(typed: str, basis_points: int | None) -> None:
    assert parse_vat_rate(typed) == basis_points


@pytest.mark.parametrize("typed", ["sixteen", "-1", "100", "16.005", "nan", "inf", "1e3"])
def test_a_vat_rate_that_is_no_rate_is_refused(typed: str) -> None:
    with pytest.raises(ShopError, match="not a VAT rate"):
        parse_vat_rate(typed)


def test_days_are_whole_days_in_the_shops_zone() -> None:
    start, end = day_range(date(2026, 1, 1), date(2026, 1, 31), NAIROBI)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2025, 12, 31, 21, tzinfo=UTC),
        datetime(2026, 1, 31, 21, tzinfo=UTC),
    )
    with pytest.raises(ExportError, match="--from 2026-02-01 is after --to 2026-01-31"):
        day_range(date(2026, 2, 1), date(2026, 1, 31), NAIROBI)
    day_range(date(2024, 1, 1), date(2024, 12, 31), NAIROBI)  # a leap year: 366 days
    with pytest.raises(ExportError, match=f"at most {MAX_DAYS} days"):
        day_range(date(2024, 1, 1), date(2025, 1, 1), NAIROBI)


def test_a_month_as_the_merchant_types_it() -> None:
    now = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 1 April in Nairobi already

    def month(words: str) -> str | None:
        found = month_range(words, now, NAIROBI)
        return None if found is None else f"{found[0]:%Y-%m-%d}..{found[1]:%Y-%m-%d}"

    assert month("") == "2026-04-01..2026-05-01"
    assert month("3") == "2026-03-01..2026-04-01"
    assert month("12") == "2025-12-01..2026-01-01"  # the latest December
    assert month("2025-02") == "2025-02-01..2025-03-01"
    assert [month(words) for words in ("13", "00", "2026-13", "march", "1999-01", "2026-4-1", "2100-01")] == [None] * 7


def test_without_a_unicode_font_the_receipt_keeps_to_latin_1() -> None:
    receipt = Receipt(
        language="fr",
        shop="Duka la Zoë — Ωmega",
        address=None,
        tax_id=None,
        code="AB12",
        placed_at="15 Jan 2026, 12:00 EAT",
        customer="Zoë",
        lines=[Line("Thé", 1, kes(35_000))],
        total=kes(35_000),
        vat=None,
        payments=[PaidWith("M-Pesa", "QK7ABC", kes(35_000), kes(0), "15 Jan 2026, 12:01 EAT")],
    )
    lines = PdfReader(io.BytesIO(render(receipt, fonts=()))).pages[0].extract_text().split("\n")
    assert lines[:3] == ["Duka la Zoë ? ?mega", "Reçu de la commande AB12", "Commande passée : 15 Jan 2026, 12:00 EAT"]
    assert "Thé 1 KES 350 KES 350" in lines
