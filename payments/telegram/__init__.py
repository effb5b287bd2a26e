"""Telegram Payments: an invoice inside the chat, paid without leaving Telegram. Either in Telegram Stars (currency
XTR, no payment provider token: digital goods), or by card through the payment provider the shop connected at
@BotFather (its provider token), in the shop's currency.

What it is, for the registry (:mod:`payments.providers`): only the declaration and loaders, so that ``dukabot --help``
imports no HTTP client and no pydantic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.texts import register_catalog
from payments.base import Capability, ProviderEntry, ProviderInfo, ProviderKind

if TYPE_CHECKING:
    from payments.chat import ChatStep

register_catalog(f"{__name__}.locales")

INFO = ProviderInfo(
    name="telegram",
    display_key="provider.telegram",
    kind=ProviderKind.CHAT_INVOICE,
    button_code=9,  # in payment menus already sent: never changes
    # Any currency the shop sells in (card invoices), and Stars at the shop's rate: the chat step works out the amount.
    currencies=(),
    # Stars are refunded whole through refundStarPayment; card invoices are refunded by the merchant (tasks).
    capabilities=frozenset({Capability.QUERY, Capability.REFUND}),
    refunded_currencies=frozenset({"XTR"}),
)


def _setup() -> type[Any]:
    from payments.telegram.settings import TelegramSetup

    return TelegramSetup


def _factory() -> Any:
    from payments.telegram.provider import FACTORY

    return FACTORY


def _chat() -> ChatStep:
    from payments.telegram.chat import STEP

    return STEP.check(INFO.name)


ENTRY = ProviderEntry(INFO, setup=_setup, factory=_factory, chat=_chat)
