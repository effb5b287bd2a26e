"""Telegram Payments in the sandbox registry: its "simulator" is the fake Telegram itself (the same one the shop's
bot talks to), served once more on its own port as the provider's Bot API host, with the playground's demo shop
selling in Stars and the customer's side as the terminal's ``:telegram pay|lose``."""

from __future__ import annotations

import json
import re

import httpx

from sandbox.contract import DemoAccount, PlayCommand, ProviderSimulator

from .errors import ApiError, unauthorized
from .fake import FakeTelegram
from .methods import Described
from .params import Params
from .server import create_app
from .stars import pay

DEMO_RATE = "0.1"  # Stars per shilling: KES 420 of rice is 42 Stars
DEMO_TEST_TOKEN = "284685063:TEST:cGxheWdyb3VuZA"  # noqa: S105 (a made-up TEST token) for a shop switched to card invoices (--option invoices=card)
_METHOD_PATH = re.compile(r"/bot([^/]+)/(?:test/)?([A-Za-z]+)")


class TelegramPayments:
    """The fake Telegram (``fake``: the playground's own, so the invoices land in its chats) as a provider."""

    def __init__(self, fake: FakeTelegram | None = None) -> None:
        self.fake = fake or FakeTelegram()

    def mock_transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        match = _METHOD_PATH.fullmatch(request.url.path)
        if match is None:
            return httpx.Response(404, text="404: Not Found")  # aiohttp's own answer, as served
        try:
            account = self.fake.authenticate(match.group(1))
            values = json.loads(request.content) if request.content else {}
            if not isinstance(values, dict):
                raise unauthorized()
            result = await self.fake.call(account, match.group(2), Params(values))
        except ApiError as error:
            return httpx.Response(error.error_code, json=error.envelope())
        if isinstance(result, Described):
            return httpx.Response(200, json={"ok": True, "result": result.result, "description": result.description})
        return httpx.Response(200, json={"ok": True, "result": result})


def open_demo_account(sim: TelegramPayments, shop_url: str, slug: str) -> DemoAccount:
    # Stars: no token of the shop's; the TEST card token is there for a shop switched to card invoices.
    return DemoAccount(
        secrets={"test_provider_token": DEMO_TEST_TOKEN}, options={"invoices": "stars", "stars_rate": DEMO_RATE}
    )


async def close(sim: TelegramPayments) -> None:
    """Nothing of its own to stop: the fake belongs to whoever made it."""


async def pay_invoice(sim: TelegramPayments, word: str) -> str:
    """The customer pays the newest invoice of the chats: Telegram asks the shop first (its pre-checkout query);
    ``lose``: paid, but the update never reaches the shop (the reconciler finds it in the Stars ledger)."""
    for user in reversed(sim.fake.users):
        invoices = [i for i in user.account.payments.invoices.values() if i.chat_id == user.chat.id]
        if invoices:
            paid = await pay(user, invoices[-1].message_id, deliver=word == "pay")
            if not paid.query.ok:
                return f"(the shop refused the payment: {paid.query.error_message})"
            lost = "" if word == "pay" else "; its update was lost: the reconciler will find it"
            return f"(paid {invoices[-1].total_amount} {invoices[-1].currency} in Telegram{lost})"
    return "(no invoice in the chat: choose Pay in Telegram first)"


PLAY = PlayCommand(("pay", "lose"), "pay the invoice in the chat (lose: its update never arrives)", pay_invoice)

SIMULATOR = ProviderSimulator(
    provider="telegram",
    create=TelegramPayments,
    app=lambda sim: create_app(sim.fake),
    close=close,
    open_demo_account=open_demo_account,
    play=PLAY,
)
