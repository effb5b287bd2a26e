"""What the operator sets for Telegram Payments (``dukabot provider set SLUG telegram``), checked before it is stored.

``invoices`` says how customers pay: ``stars`` (Telegram Stars, XTR: no token, a Stars price per product or the
shop's rate) or ``card`` (the payment provider connected at @BotFather > Payments: its token, kept encrypted like every
secret; its TEST token while the shop is in test mode)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, model_validator

from payments.setup import BaseUrl, ProviderSetup, Secret, setting
from payments.telegram.pricing import PricingError, parse_prices, parse_rate


def _provider_token(value: Secret) -> Secret:
    parts = value.get_secret_value().split(":")
    if len(parts) < 3 or not parts[0].isdigit():
        raise ValueError("is the payment provider token @BotFather gives (digits:LIVE:... or digits:TEST:...)")
    return value


def _rate(value: str) -> str:
    try:
        parse_rate(value)
    except PricingError as error:
        raise ValueError(str(error)) from None
    return value


def _prices(value: str) -> str:
    try:
        parse_prices(value)
    except PricingError as error:
        raise ValueError(str(error)) from None
    return value


class TelegramSetup(ProviderSetup):
    provider: ClassVar[str] = "telegram"

    invoices: Literal["stars", "card"] = setting(
        "how customers pay: stars (Telegram Stars) or card (the provider connected at @BotFather).",
        metavar="KIND",
        cli="option",
        default="stars",
    )
    stars_rate: Annotated[str, AfterValidator(_rate)] | None = setting(
        "Stars per one unit of the shop's currency, e.g. 0.08 (KES 100 = 8 Stars), rounded up.",
        metavar="RATE",
        cli="option",
        default=None,
    )
    stars_prices: Annotated[str, AfterValidator(_prices)] | None = setting(
        "Stars prices of products by SKU, e.g. RICE2=40,OIL1=25 (they win over the rate).",
        metavar="SKU=N,...",
        cli="option",
        default=None,
    )
    provider_token: Annotated[Secret, AfterValidator(_provider_token)] | None = setting(
        "the payment provider token from @BotFather, for card invoices.", metavar="T", default=None
    )
    test_provider_token: Annotated[Secret, AfterValidator(_provider_token)] | None = setting(
        "the provider's TEST token from @BotFather, used while the shop is in test mode.", metavar="T", default=None
    )
    base_url: BaseUrl | None = setting(
        "another Bot API host for invoices (a local Bot API server, a fake); default DUKABOT_TELEGRAM_API.",
        metavar="URL",
        default=None,
    )

    @model_validator(mode="after")
    def _complete(self) -> TelegramSetup:
        if self.invoices == "card" and self.provider_token is None:
            raise ValueError("card invoices need --provider-token (@BotFather > Payments)")
        if self.invoices == "stars" and self.stars_rate is None and self.stars_prices is None:
            raise ValueError("Stars invoices need --stars-rate or --stars-prices")
        return self
