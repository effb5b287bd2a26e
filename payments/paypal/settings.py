"""What the operator sets for PayPal (``dukabot provider set SLUG paypal``), checked before it is stored.

PayPal's live and sandbox apps have their own client id, secret and webhook: ``mode`` says which the main ones are
(a live shop on sandbox credentials takes no real money and is shown so), and the ``sandbox_*`` ones are used while
the shop is in test mode. A shop selling in a currency PayPal does not take sets ``conversion_currency`` and
``conversion_rate`` (:mod:`payments.paypal.conversion`); without them PayPal is not offered for its orders."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, model_validator

from payments.paypal.conversion import parse_rate
from payments.paypal.currencies import USABLE
from payments.setup import BaseUrl, ProviderSetup, Secret, setting

_IDENT = re.compile(r"[A-Za-z0-9_-]{8,128}")


def _ident(value: str) -> str:
    if not _IDENT.fullmatch(value):
        raise ValueError("is PayPal's id as shown in the developer dashboard (letters, digits, - and _)")
    return value


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in USABLE:
        raise ValueError(f"is a currency PayPal takes and dukabot counts: {', '.join(USABLE)}")
    return code


def _rate(value: str) -> str:
    return f"{parse_rate(value).normalize():f}"


Ident = Annotated[str, AfterValidator(_ident)]


class PayPalSetup(ProviderSetup):
    provider: ClassVar[str] = "paypal"

    client_id: Ident = setting("the REST app's client id.", metavar="ID")
    client_secret: Secret = setting("the REST app's secret.", metavar="S")
    webhook_id: Ident = setting(
        "the id of the webhook pointing at /pay/paypal/SLUG (it verifies deliveries).", metavar="ID"
    )
    mode: Literal["live", "sandbox"] | None = setting(
        "whose credentials these are: live (default) or sandbox (no real money).", metavar="live|sandbox", default=None
    )
    sandbox_client_id: Ident | None = setting(
        "a sandbox app's client id, used in test mode.", metavar="ID", default=None
    )
    sandbox_client_secret: Secret | None = setting("that sandbox app's secret.", metavar="S", default=None)
    sandbox_webhook_id: Ident | None = setting("that sandbox app's webhook id.", metavar="ID", default=None)
    conversion_currency: Annotated[str, AfterValidator(_currency)] | None = setting(
        "charge in this currency when the shop's is not one PayPal takes (e.g. USD).",
        metavar="CUR",
        cli="option",
        default=None,
    )
    conversion_rate: Annotated[str, AfterValidator(_rate)] | None = setting(
        "units of that currency per unit of the shop's (e.g. 0.0077).", metavar="RATE", cli="option", default=None
    )
    base_url: BaseUrl | None = setting(
        "another API host (a sandbox, a simulator, a test double).", metavar="URL", default=None
    )

    @model_validator(mode="after")
    def _pairs(self) -> PayPalSetup:
        if (self.conversion_currency is None) != (self.conversion_rate is None):
            raise ValueError("conversion_currency and conversion_rate are set together")
        sandbox = (self.sandbox_client_id, self.sandbox_client_secret, self.sandbox_webhook_id)
        if any(part is not None for part in sandbox) and not all(part is not None for part in sandbox):
            raise ValueError("sandbox_client_id, sandbox_client_secret and sandbox_webhook_id are set together")
        return self
