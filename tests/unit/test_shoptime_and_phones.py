"""How times and phone numbers read to a person: the shop's own zone, labelled; one national form, with the country
code kept for a number from another country than the shop's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core import shoptime
from core.phones import Phone, PhoneError, display, example_international, example_local, mask, parse_mobile

MOMENT = datetime(2026, 12, 4, 13, 17, tzinfo=UTC)


@dataclass
class Shop:
    region: str
    timezone: str | None = None


@pytest.mark.parametrize(
    ("shop", "shown"),
    [
        (Shop("KE"), "04 Dec 16:17 EAT"),
        (Shop("NG"), "04 Dec 14:17 WAT"),
        (Shop("GH"), "04 Dec 13:17 GMT"),
        (Shop("ZA"), "04 Dec 15:17 SAST"),
        (Shop("RW"), "04 Dec 15:17 CAT"),
        (Shop("KE", "Africa/Johannesburg"), "04 Dec 15:17 SAST"),  # the shop's own zone wins over its region's
        (Shop("KE", "Asia/Kolkata"), "04 Dec 18:47 IST"),
        (Shop("FR"), "04 Dec 13:17 UTC"),  # a region we have no zone for: UTC, still labelled
    ],
)
def test_a_moment_is_shown_in_the_shops_zone_with_its_label(shop: Shop, shown: str) -> None:
    assert shoptime.when(MOMENT, shop) == shown


def test_long_and_clock_forms_and_a_naive_time_is_utc() -> None:
    kenya = Shop("KE")
    assert shoptime.when_long(MOMENT, kenya) == "04 Dec 2026, 16:17 EAT"
    assert shoptime.clock_time(MOMENT, kenya) == "16:17 EAT"
    assert shoptime.when(MOMENT.replace(tzinfo=None), kenya) == "04 Dec 16:17 EAT"
    assert shoptime.when(MOMENT.astimezone(timezone(timedelta(hours=-5))), kenya) == "04 Dec 16:17 EAT"


def test_a_zone_without_a_name_of_its_own_is_labelled_by_its_offset() -> None:
    assert shoptime.when(MOMENT, Shop("KE", "Asia/Dubai")) == "04 Dec 17:17 UTC+4"
    assert shoptime.when(MOMENT, Shop("KE", "Asia/Kathmandu")) == "04 Dec 19:02 UTC+5:45"


def test_only_known_zones_are_accepted() -> None:
    assert shoptime.is_known_zone("Africa/Nairobi")
    assert not shoptime.is_known_zone("Africa/Narnia")
    assert not shoptime.is_known_zone("../etc/passwd")


@pytest.mark.parametrize(
    ("e164", "home", "shown"),
    [
        ("+254712345678", None, "0712 345 678"),
        ("+254712345678", "KE", "0712 345 678"),
        ("+254112345678", "KE", "0112 345 678"),
        ("+2348031234567", "NG", "0803 123 4567"),
        ("+2348031234567", "KE", "+234 803 123 4567"),  # its national form would dial another number in Kenya
        ("+255712345678", "KE", "+255 712 345 678"),
        ("2547 ***** 149", "KE", "2547 ***** 149"),  # Daraja's masked MSISDN is shown as it came
        ("", "KE", ""),
    ],
)
def test_a_phone_number_reads_one_way_everywhere(e164: str, home: str | None, shown: str) -> None:
    assert display(e164, home) == shown


def test_a_masked_number_reads_like_the_number_with_its_middle_hidden() -> None:
    assert mask("+254712345678", "KE") == "0712 ••• 678"
    assert mask("+2348031234567", "NG") == "0803 ••• •567"
    assert mask("+2348031234567", "KE").startswith("+234 ") and mask("+2348031234567", "KE").endswith("567")


# --- markets: an example number per region, numbers from abroad, times in the reader's language ---------------


@pytest.mark.parametrize(
    ("region", "local", "international"),
    [
        ("KE", "0712 123 456", "+254 712 123 456"),
        ("TZ", "0621 234 567", "+255 621 234 567"),
        ("UG", "0712 345 678", "+256 712 345 678"),
        ("NG", "0802 123 4567", "+234 802 123 4567"),
        ("GH", "023 123 4567", "+233 23 123 4567"),
        ("ZA", "071 123 4567", "+27 71 123 4567"),
        ("BJ", "01 95 12 34 56", "+229 01 95 12 34 56"),
        ("SN", "70 123 45 67", "+221 70 123 45 67"),
    ],
)
def test_an_example_number_in_the_regions_own_form(region: str, local: str, international: str) -> None:
    assert (example_local(region), example_international(region)) == (local, international)
    # The example is one the shop itself reads back as a mobile of its region.
    assert parse_mobile(local, region).region == region


@pytest.mark.parametrize(
    ("typed", "region", "read"),
    [
        ("01 95 12 34 56", "BJ", Phone("+2290195123456", "BJ")),
        ("+229 01 95 12 34 56", "KE", Phone("+2290195123456", "BJ")),  # a Beninese customer of a Nairobi shop
        ("+44 7400 123456", "BJ", Phone("+447400123456", "GB")),  # a customer abroad
        ("00234 803 123 4567", "KE", Phone("+2348031234567", "NG")),  # "00", the international prefix
        ("2348031234567", "BJ", Phone("+2348031234567", "NG")),  # the country code without its plus
        ("0803 123 4567", "NG", Phone("+2348031234567", "NG")),
    ],
)
def test_numbers_are_read_in_the_shops_country_or_in_international_form(typed: str, region: str, read: Phone) -> None:
    assert parse_mobile(typed, region) == read


@pytest.mark.parametrize(
    ("typed", "region", "key"),
    [
        ("call me", "BJ", "phone.unparseable"),
        ("0712 345 678", "BJ", "phone.invalid"),  # Kenyan national form, in Benin
        ("0803 123 4567", "KE", "phone.invalid"),  # Nigerian national form, in Kenya
        ("12345", "NG", "phone.invalid"),
        ("020 2222222", "KE", "phone.not_mobile"),  # a Nairobi landline
        ("+229 21 30 12 34", "KE", "phone.invalid"),  # Benin's old 8-digit numbering, gone since 2024
    ],
)
def test_bad_numbers_name_the_text_that_explains_them(typed: str, region: str, key: str) -> None:
    with pytest.raises(PhoneError) as refused:
        parse_mobile(typed, region)
    assert refused.value.key == key


@pytest.mark.parametrize(
    ("language", "listed", "receipt", "clock"),
    [
        ("en", "04 Dec 14:17 WAT", "04 Dec 2026, 14:17 WAT", "14:17 WAT"),
        ("fr", "04 déc. 14:17 WAT", "04 déc. 2026, 14:17 WAT", "14:17 WAT"),
        ("sw", "04 Des 14:17 WAT", "04 Des 2026, 14:17 WAT", "14:17 WAT"),
    ],
)
def test_times_read_in_the_shops_zone_and_the_readers_language(
    language: str, listed: str, receipt: str, clock: str
) -> None:
    cotonou = Shop("BJ")
    assert shoptime.when(MOMENT, cotonou, language) == listed
    assert shoptime.when_long(MOMENT, cotonou, language) == receipt
    assert shoptime.clock_time(MOMENT, cotonou, language) == clock


def test_a_nairobi_receipt_in_swahili_and_in_french() -> None:
    june = datetime(2026, 6, 30, 21, 5, tzinfo=UTC)
    assert shoptime.when_long(june, Shop("KE"), "sw") == "01 Jul 2026, 00:05 EAT"
    assert shoptime.when_long(june, Shop("KE"), "fr") == "01 juil. 2026, 00:05 EAT"
