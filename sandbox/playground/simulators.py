"""The payment providers of the playground: every simulator of the sandbox registry as a real local server, the
demo shop's account on each, and the terminal commands that decide what the "customer's phone" or the "checkout
page" does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sandbox.contract import DemoAccount
from sandbox.mpesa.models import (
    CANCELLED,
    EXPIRED,
    INSUFFICIENT_FUNDS,
    NO_CALLBACK,
    SUCCESS,
    UNREACHABLE,
    WRONG_PIN,
    SimOutcome,
)
from sandbox.mpesa.simulator import DarajaSimulator
from sandbox.paystack.simulator import PaystackSimulator
from sandbox.registry import SIMULATORS

MPESA_OUTCOMES: dict[str, SimOutcome] = {
    "success": SUCCESS,
    "cancel": CANCELLED,
    "wrongpin": WRONG_PIN,
    "insufficient": INSUFFICIENT_FUNDS,
    "unreachable": UNREACHABLE,
    "expired": EXPIRED,
    "nocallback": NO_CALLBACK,
}
PAYSTACK_OUTCOMES = ("success", "failed", "abandoned")


@dataclass(frozen=True)
class Running:
    sim: Any
    url: str
    account: DemoAccount


@dataclass
class PaymentSimulators:
    running: dict[str, Running]

    def provider_settings(self) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
        """(provider, secrets, options) for the demo shop, pointing at these simulators."""
        return [(provider, *each.account.settings(each.url)) for provider, each in self.running.items()]

    # The terminal's commands play the customer's side, which differs by provider.

    def choose_mpesa(self, word: str) -> str:
        outcome = MPESA_OUTCOMES.get(word)
        if outcome is None:
            return f"(:mpesa takes one of {', '.join(MPESA_OUTCOMES)})"
        daraja: DarajaSimulator = self.running["mpesa"].sim
        daraja.default_outcome = outcome
        return f"(the customer's phone will answer the next M-Pesa prompts with: {word})"

    async def pay_paystack(self, word: str) -> str:
        if word not in PAYSTACK_OUTCOMES:
            return f"(:paystack takes one of {', '.join(PAYSTACK_OUTCOMES)})"
        paystack: PaystackSimulator = self.running["paystack"].sim
        links = [t for t in paystack.transactions if t.status == "abandoned"]
        if not links:
            return "(no open Paystack link: choose Pay online first)"
        await paystack.pay(links[-1].reference, word)
        return f"(the checkout page was answered: {word})"


@asynccontextmanager
async def payment_simulators(shop_url: str, slug: str) -> AsyncIterator[PaymentSimulators]:
    """Every registered simulator on 127.0.0.1, with the demo shop ``slug`` (served at ``shop_url``) as its
    merchant. Each is closed when its server stops."""
    running: dict[str, Running] = {}
    async with AsyncExitStack() as stack:
        for provider, entry in SIMULATORS.items():
            sim = entry.create(**entry.demo_options)
            account = entry.open_demo_account(sim, shop_url, slug)
            url = await stack.enter_async_context(entry.serve(sim))
            running[provider] = Running(sim, url, account)
        yield PaymentSimulators(running)
