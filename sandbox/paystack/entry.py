"""Paystack's simulator in the sandbox registry, with the playground's demo merchant on it."""

from __future__ import annotations

from sandbox.contract import DemoAccount, PlayCommand, ProviderSimulator
from sandbox.paystack.server import build_app
from sandbox.paystack.simulator import PaystackSimulator

DEMO_SECRET_KEY = "sk_test_playground000000000000000000000000"  # noqa: S105 (known only to the local simulator)


def open_demo_account(sim: PaystackSimulator, shop_url: str, slug: str) -> DemoAccount:
    # The webhook URL is set once in the merchant's Paystack dashboard, not sent with each payment.
    sim.add_merchant(DEMO_SECRET_KEY, webhook_url=f"{shop_url}/pay/paystack/{slug}")
    return DemoAccount(secrets={"secret_key": DEMO_SECRET_KEY}, options={})


async def close(sim: PaystackSimulator) -> None:
    await sim.close()


async def answer_checkout(sim: PaystackSimulator, word: str) -> str:
    links = [transaction for transaction in sim.transactions if transaction.status == "abandoned"]
    if not links:
        return "(no open Paystack link: choose Pay online first)"
    await sim.pay(links[-1].reference, word)
    return f"(the checkout page was answered: {word})"


PLAY = PlayCommand(("success", "failed", "abandoned"), "answer the open Paystack checkout page", answer_checkout)

SIMULATOR = ProviderSimulator(
    provider="paystack",
    create=PaystackSimulator,
    app=build_app,
    close=close,
    open_demo_account=open_demo_account,
    play=PLAY,
)
