"""Times as a person reads them: in the shop's own time zone, always labelled ("04 Dec 2026, 16:17 EAT"), with the
month in the reader's language (Babel, CLDR: "04 déc. 2026, 16:17 WAT", "04 Des 2026, 16:17 EAT").

Inside, every time is UTC (``core.clock.utc``); only the moment of showing converts. A shop's zone is its own
``timezone`` when the operator set one, otherwise the usual zone of its region, otherwise UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime

from core.clock import utc
from core.money import locale_of

# The usual zone of each region we sell in; a shop elsewhere sets its own with `dukabot tenant edit --timezone`.
REGION_ZONES = {
    "KE": "Africa/Nairobi",
    "TZ": "Africa/Dar_es_Salaam",
    "UG": "Africa/Kampala",
    "RW": "Africa/Kigali",
    "BI": "Africa/Bujumbura",
    "ET": "Africa/Addis_Ababa",
    "CD": "Africa/Lubumbashi",
    "NG": "Africa/Lagos",
    "GH": "Africa/Accra",
    "CI": "Africa/Abidjan",
    "SN": "Africa/Dakar",
    "BJ": "Africa/Porto-Novo",
    "TG": "Africa/Lome",
    "CM": "Africa/Douala",
    "ZA": "Africa/Johannesburg",
    "ZM": "Africa/Lusaka",
    "MW": "Africa/Blantyre",
}
# Fixed offsets for a machine without the tz database (Windows without tzdata): none of these zones has DST.
_FALLBACK_OFFSETS = {"EAT": 3, "WAT": 1, "CAT": 2, "SAST": 2, "GMT": 0}
_ZONE_LABELS = {
    "Africa/Nairobi": "EAT",
    "Africa/Dar_es_Salaam": "EAT",
    "Africa/Kampala": "EAT",
    "Africa/Addis_Ababa": "EAT",
    "Africa/Kigali": "CAT",
    "Africa/Bujumbura": "CAT",
    "Africa/Lubumbashi": "CAT",
    "Africa/Lusaka": "CAT",
    "Africa/Blantyre": "CAT",
    "Africa/Lagos": "WAT",
    "Africa/Porto-Novo": "WAT",
    "Africa/Douala": "WAT",
    "Africa/Accra": "GMT",
    "Africa/Abidjan": "GMT",
    "Africa/Dakar": "GMT",
    "Africa/Lome": "GMT",
    "Africa/Johannesburg": "SAST",
}


class HasZone(Protocol):
    """A tenant row, or anything else that knows its region and maybe its own zone."""

    @property
    def region(self) -> str: ...

    @property
    def timezone(self) -> str | None: ...


def is_known_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone this machine knows ("Africa/Nairobi"): for validating operator input."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_name(shop: HasZone) -> str:
    return shop.timezone or REGION_ZONES.get(shop.region, "UTC")


def shop_zone(shop: HasZone) -> tzinfo:
    name = zone_name(shop)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        label = _ZONE_LABELS.get(name, "UTC")
        return timezone(timedelta(hours=_FALLBACK_OFFSETS.get(label, 0)), label)


def _label(local: datetime, zone: tzinfo) -> str:
    key = getattr(zone, "key", None)
    if isinstance(key, str) and key in _ZONE_LABELS:
        return _ZONE_LABELS[key]
    # tzdata spells many African zones as offsets ("+03"); prefer "UTC+3" to that.
    name = local.tzname() or "UTC"
    if name[:1] in "+-":
        offset = local.utcoffset() or timedelta(0)
        hours, rest = divmod(int(offset.total_seconds()) // 60, 60)
        return f"UTC{'+' if offset >= timedelta(0) else '-'}{abs(hours)}" + (f":{rest:02d}" if rest else "")
    return name


def local(at: datetime, shop: HasZone) -> datetime:
    return utc(at).astimezone(shop_zone(shop))


def _shown(at: datetime, shop: HasZone, pattern: str, language: str) -> str:
    moment = local(at, shop)
    # Babel reads a naive time as it is: the shop's wall clock, already converted.
    words = format_datetime(moment.replace(tzinfo=None), pattern, locale=locale_of(language))
    return f"{words} {_label(moment, moment.tzinfo or UTC)}"


def when(at: datetime, shop: HasZone, language: str = "en") -> str:
    """A moment in a list or a history line: ``04 Dec 16:17 EAT``."""
    return _shown(at, shop, "dd MMM HH:mm", language)


def when_long(at: datetime, shop: HasZone, language: str = "en") -> str:
    """A moment on a receipt, with the year: ``04 Dec 2026, 16:17 EAT``."""
    return _shown(at, shop, "dd MMM y, HH:mm", language)


def clock_time(at: datetime, shop: HasZone, language: str = "en") -> str:
    """Only the time of day, for today's events: ``16:17 EAT``."""
    return _shown(at, shop, "HH:mm", language)
