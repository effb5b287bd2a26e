"""Paystack's secret keys say which mode they are for: the one place that reads it (the settings check, the client
and the operator's display all ask here)."""

from __future__ import annotations

from typing import Literal


def key_mode(secret_key: str) -> Literal["test", "live", "unknown"]:
    """``test`` for ``sk_test_…``, ``live`` for ``sk_live_…``, ``unknown`` otherwise (a public ``pk_`` key)."""
    if secret_key.startswith("sk_test_"):
        return "test"
    if secret_key.startswith("sk_live_"):
        return "live"
    return "unknown"
