"""The one place that reads the time, so that tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock for tests: starts at a fixed UTC instant and moves only when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 15, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


def utc(value: datetime) -> datetime:
    """Databases without time zones (SQLite) hand back naive datetimes; inside dukabot every time is UTC-aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
