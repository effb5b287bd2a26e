"""A shop's Flutterwave options (``provider_configs.options``), read the same way by the provider and the flow.

- ``base_url``: another API host (a simulator); by default Flutterwave's one host, for live and test keys alike.
- ``payment_options``: the checkout's channels, comma-separated (``card,mpesa,mobilemoney,banktransfer,ussd``);
  unset lets Flutterwave offer every channel the account has.
- ``email_domain``: the domain of the stand-in address of a customer who gave none (Flutterwave requires one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_EMAIL_DOMAIN = "example.com"  # reserved (RFC 2606): receipts sent there go nowhere


def payment_options(options: Mapping[str, Any]) -> str | None:
    raw = options.get("payment_options")
    if not isinstance(raw, str):
        return None
    chosen = [part.strip().lower() for part in raw.split(",") if part.strip()]
    return ",".join(chosen) or None


def stand_in_email(chat: str, domain: str) -> str:
    """A stable address for a customer who gave none: ``tg<chat id>@<domain>``."""
    digits = "".join(ch for ch in chat if ch.isdigit() or ch == "-").replace("-", "n")
    return f"tg{digits or 'anon'}@{domain}"
