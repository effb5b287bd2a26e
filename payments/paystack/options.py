"""A tenant's Paystack options (``provider_configs.options``), read the same way by the flow and the provider.

- ``base_url``: another API host (a sandbox, the simulator).
- ``channels``: the checkout channels the shop allows, a list or comma-separated text (``card,mobile_money``);
  unset lets Paystack offer every channel of the account.
- ``ask_email``: ask customers for a real email address before the first online payment; otherwise a stable
  synthetic address is used (Paystack requires one).
- ``email_domain``: the domain of synthetic addresses; ``example.com`` by default, which receives no mail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_EMAIL_DOMAIN = "example.com"  # reserved (RFC 2606): Paystack's receipts to synthetic addresses go nowhere


def synthetic_email(chat: str, domain: str = DEFAULT_EMAIL_DOMAIN) -> str:
    """A stable address for a customer who gave none: ``tg<chat id>@<domain>``."""
    digits = "".join(ch for ch in chat if ch.isdigit() or ch == "-").replace("-", "n")
    return f"tg{digits or 'anon'}@{domain}"


def channels_option(options: Mapping[str, Any]) -> tuple[str, ...]:
    raw = options.get("channels")
    if isinstance(raw, str):
        items: Sequence[Any] = raw.split(",")
    elif isinstance(raw, list | tuple):
        items = raw
    else:
        return ()
    return tuple(str(item).strip().lower() for item in items if str(item).strip())


def asks_email(options: Mapping[str, Any]) -> bool:
    value = options.get("ask_email")
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
