"""The payment providers of the playground: Daraja's and Paystack's simulators as real local servers, the demo
shop's credentials for them, and the terminal commands that decide what the "customer's phone" or the "checkout
page" does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

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
from sandbox.mpesa.server import SimulatorServer
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, DarajaSimulator
from sandbox.paystack.server import serve as serve_paystack
from sandbox.paystack.simulator import PaystackSimulator

MPESA_KEY = "playground-consumer-key"
MPESA_SECRET = "playground-consumer-secret"  # noqa: S105 (known only to the local simulator)
PAYSTACK_KEY = "sk_test_playground000000000000000000000000"
CALLBACK_DELAY = 2.0  # seconds between the PIN prompt and Daraja's callback, as a person would take

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


@dataclass
class PaymentSimulators:
    daraja: DarajaSimulator
    daraja_url: str
    paystack: PaystackSimulator
    paystack_url: str

    def provider_settings(self) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
        """(provider, secrets, options) for the demo shop, pointing at these simulators."""
        return [
            (
                "mpesa",
                {"consumer_key": MPESA_KEY, "consumer_secret": MPESA_SECRET, "passkey": SANDBOX_PASSKEY},
                # The demo shop is live; its Daraja (the simulator) calls back from loopback, not Safaricom.
                {"shortcode": SANDBOX_SHORTCODE, "base_url": self.daraja_url, "ip_allowlist": "127.0.0.1"},
            ),
            ("paystack", {"secret_key": PAYSTACK_KEY}, {"base_url": self.paystack_url}),
        ]

    def choose_mpesa(self, word: str) -> str:
        outcome = MPESA_OUTCOMES.get(word)
        if outcome is None:
            return f"(:mpesa takes one of {', '.join(MPESA_OUTCOMES)})"
        self.daraja.default_outcome = outcome
        return f"(the customer's phone will answer the next M-Pesa prompts with: {word})"

    async def pay_paystack(self, word: str) -> str:
        if word not in PAYSTACK_OUTCOMES:
            return f"(:paystack takes one of {', '.join(PAYSTACK_OUTCOMES)})"
        links = [t for t in self.paystack.transactions if t.status == "abandoned"]
        if not links:
            return "(no open Paystack link: choose Pay online first)"
        await self.paystack.pay(links[-1].reference, word)
        return f"(the checkout page was answered: {word})"


@asynccontextmanager
async def payment_simulators(webhook_url: str) -> AsyncIterator[PaymentSimulators]:
    """Both simulators on 127.0.0.1; Paystack's webhooks go to ``webhook_url`` (the demo shop's route)."""
    daraja = DarajaSimulator(callback_delay=CALLBACK_DELAY)
    daraja.add_app(MPESA_KEY, MPESA_SECRET)
    paystack = PaystackSimulator()
    paystack.add_merchant(PAYSTACK_KEY, webhook_url=webhook_url)
    async with AsyncExitStack() as stack:
        daraja_server = await stack.enter_async_context(SimulatorServer(daraja))
        paystack_url = await stack.enter_async_context(serve_paystack(paystack))
        stack.push_async_callback(daraja.aclose)
        stack.push_async_callback(paystack.close)
        yield PaymentSimulators(daraja, daraja_server.url, paystack, paystack_url)
