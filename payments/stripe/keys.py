"""Stripe's secret keys say their mode (``sk_test_…``/``rk_test_…`` or ``sk_live_…``/``rk_live_…``): the one place
that reads it. Pure."""

from __future__ import annotations

from typing import Literal


def key_mode(key: str) -> Literal["test", "live", "unknown"]:
    if key.startswith(("sk_test_", "rk_test_")):
        return "test"
    if key.startswith(("sk_live_", "rk_live_")):
        return "live"
    return "unknown"


def webhook_secrets(value: str) -> tuple[str, ...]:
    """A stored webhook secret setting: one ``whsec_…``, or several comma-separated while one is being rolled."""
    return tuple(part.strip() for part in value.split(",") if part.strip())
