"""What the operator sets for Paystack (``dukabot provider set SLUG paystack``), checked before it is stored.

The provider reads the stored options through :mod:`payments.paystack.options`; in test mode it uses
``test_secret_key`` when the shop has one (an ``sk_test_`` key), its live key otherwise."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Final

from pydantic import AfterValidator

from payments.paystack.keys import key_mode
from payments.setup import BaseUrl, ProviderSetup, Secret, Switch, setting

CHANNELS: Final = frozenset(
    {"card", "bank", "ussd", "qr", "mobile_money", "bank_transfer", "eft", "apple_pay", "payattitude"}
)
_DOMAIN: Final = re.compile(r"(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _secret_key(value: Any) -> Any:
    if key_mode(value.get_secret_value()) == "unknown":
        raise ValueError("starts with sk_test_ or sk_live_ (a public pk_ key does not work here)")
    return value


def _test_key(value: Any) -> Any:
    if key_mode(value.get_secret_value()) != "test":
        raise ValueError("starts with sk_test_")
    return value


def _channels(value: str) -> str:
    chosen = [part.strip().lower() for part in value.split(",") if part.strip()]
    if not chosen or set(chosen) - CHANNELS:
        raise ValueError(f"are a comma-separated choice of {', '.join(sorted(CHANNELS))}")
    return ",".join(chosen)


def _domain(value: str) -> str:
    if not _DOMAIN.fullmatch(value.lower()):
        raise ValueError("is a domain name such as example.com")
    return value.lower()


class PaystackSetup(ProviderSetup):
    provider: ClassVar[str] = "paystack"

    secret_key: Annotated[Secret, AfterValidator(_secret_key)] = setting(
        "secret key, sk_test_... or sk_live_...", metavar="K"
    )
    base_url: BaseUrl | None = setting(
        "another API host (a sandbox, a simulator, a test double).", metavar="URL", default=None
    )
    test_secret_key: Annotated[Secret, AfterValidator(_test_key)] | None = setting(
        "an sk_test_ key, used while the shop is in test mode.", metavar="K", default=None
    )
    channels: Annotated[str, AfterValidator(_channels)] | None = setting(
        "the checkout channels offered (default: every channel of the account).",
        metavar="card,mobile_money,...",
        cli="option",
        default=None,
    )
    ask_email: Switch | None = setting(
        "ask customers for their email before the first payment.", metavar="on|off", cli="option", default=None
    )
    email_domain: Annotated[str, AfterValidator(_domain)] | None = setting(
        "the domain of the stand-in addresses of customers who gave none.", metavar="DOMAIN", cli="option", default=None
    )

    @classmethod
    def facts(cls, secrets: Mapping[str, str], options: Mapping[str, Any]) -> dict[str, str]:
        return {"key_mode": key_mode(secrets["secret_key"])} if "secret_key" in secrets else {}
