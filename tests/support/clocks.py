"""A clock for tests of the running server: it follows the wall clock, so the server's workers, leases and pacing
behave as in production, and a test can jump it forward to make a check, a retry or an expiry due at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class MovableClock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> datetime:
        self.offset += timedelta(**delta)
        return self.now()
