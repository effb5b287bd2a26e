"""What the operator sets for Stripe (``dukabot provider set SLUG stripe``), checked before it is stored.

A shop takes payments on its own Stripe account (its ``secret_key``) or, with ``connect=on``, as a connected
account of the operator's platform; never both. Test mode uses ``test_secret_key`` (an ``sk_test_`` key); a shop
whose only key is live has no test mode (its starts are refused while the shop is in test mode, rather than
charging real cards)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, model_validator

from payments.setup import BaseUrl, ProviderSetup, Secret, Switch, setting
from payments.stripe.keys import key_mode, webhook_secrets


def _secret_key(value: Any) -> Any:
    if key_mode(value.get_secret_value()) == "unknown":
        raise ValueError("starts with sk_live_ or sk_test_ (or rk_: a restricted key); a pk_ key does not work here")
    return value


def _test_key(value: Any) -> Any:
    if key_mode(value.get_secret_value()) != "test":
        raise ValueError("starts with sk_test_ (a live key is never used in test mode)")
    return value


def _webhook_secret(value: Any) -> Any:
    parts = webhook_secrets(value.get_secret_value())
    if not parts or any(not part.startswith("whsec_") for part in parts):
        raise ValueError("is the endpoint's signing secret, whsec_... (several comma-separated while rolling one)")
    return value


def _percent(value: str) -> str:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError("is a percentage such as 2.5") from None
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(50) or number != number.quantize(Decimal("0.01")):
        raise ValueError("is a percentage from 0 to 50, at most two decimals")
    return str(number)


class StripeSetup(ProviderSetup):
    provider: ClassVar[str] = "stripe"

    secret_key: Annotated[Secret, AfterValidator(_secret_key)] = setting(
        "secret key, sk_test_... or sk_live_...", metavar="K"
    )
    webhook_secret: Annotated[Secret, AfterValidator(_webhook_secret)] = setting(
        "the webhook endpoint's signing secret, whsec_... (comma-separated while rolling it).", metavar="S"
    )
    test_secret_key: Annotated[Secret, AfterValidator(_test_key)] | None = setting(
        "an sk_test_ key, used while the shop is in test mode.", metavar="K", default=None
    )
    test_webhook_secret: Annotated[Secret, AfterValidator(_webhook_secret)] | None = setting(
        "the signing secret of the test-mode endpoint, whsec_...", metavar="S", default=None
    )
    base_url: BaseUrl | None = setting(
        "another API host (a simulator, a test double).", metavar="URL", cli="option", default=None
    )
    connect: Switch | None = setting(
        "on: the shop is an Express account of the platform whose keys are given (its payments are destination "
        "charges, onboarded with /connect stripe in the chat).",
        metavar="on|off",
        cli="option",
        default=None,
    )
    application_fee_percent: Annotated[str, AfterValidator(_percent)] | None = setting(
        "with connect=on: the platform's fee, a percentage of each payment.",
        metavar="PERCENT",
        cli="option",
        default=None,
    )
    connected_account: str | None = setting(
        "the shop's Express account, acct_..., made from the chat.", metavar="ACCT", cli="managed", default=None
    )

    @model_validator(mode="after")
    def _fee_with_connect(self) -> StripeSetup:
        if self.application_fee_percent is not None and self.connect != "on":
            raise ValueError("application_fee_percent needs connect=on: a shop's own account pays no platform fee")
        return self

    @classmethod
    def facts(cls, secrets: Mapping[str, str], options: Mapping[str, Any]) -> dict[str, str]:
        return {"key_mode": key_mode(secrets["secret_key"])} if "secret_key" in secrets else {}
