"""When a cart reminder may go out: never from 21:00 to 08:00 in the shop's own zone, put off to 08:00, not dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from core.cart_reminders import after_quiet_hours


@dataclass(frozen=True)
class Shop:
    region: str
    timezone: str | None = None


LAGOS = Shop("NG")  # UTC+1


def lagos(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


@pytest.mark.parametrize(
    ("local", "sent"),
    [
        ((7, 8, 0), (7, 8, 0)),
        ((7, 20, 59), (7, 20, 59)),
        ((7, 21, 0), (8, 8, 0)),
        ((7, 23, 30), (8, 8, 0)),
        ((8, 0, 10), (8, 8, 0)),
        ((8, 7, 59), (8, 8, 0)),
    ],
)
def test_a_reminder_due_at_night_waits_for_eight_in_the_shops_zone(
    local: tuple[int, int, int], sent: tuple[int, int, int]
) -> None:
    assert after_quiet_hours(lagos(*local), LAGOS) == lagos(*sent)


def test_the_shops_own_zone_wins_over_its_regions() -> None:
    # 19:30 UTC is 22:30 in Nairobi, a Kenyan shop's usual zone, but 20:30 in Lagos where this one keeps its hours.
    at = datetime(2026, 12, 7, 19, 30, tzinfo=UTC)
    assert after_quiet_hours(at, Shop("KE")) == datetime(2026, 12, 8, 5, 0, tzinfo=UTC)
    assert after_quiet_hours(at, Shop("KE", "Africa/Lagos")) == at
