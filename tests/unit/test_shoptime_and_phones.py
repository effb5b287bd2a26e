"""How times and phone numbers read to a person: the shop's own zone, labelled; one national form, with the country
code kept for a number from another country than the shop's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core import shoptime
from core.phones import display, mask

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
