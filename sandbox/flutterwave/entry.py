"""Flutterwave's simulator in the sandbox registry, with the playground's demo merchant on it."""

from __future__ import annotations

from sandbox.contract import DemoAccount, PlayCommand, ProviderSimulator
from sandbox.flutterwave.simulator import FlutterwaveSimulator
from sandbox.hosted import build_app

DEMO_SECRET_KEY = "FLWSECK_TEST-playground00000000000000-X"  # noqa: S105 (known only to the local simulator)
DEMO_SECRET_HASH = "playground-secret-hash-0001"  # noqa: S105


def open_demo_account(sim: FlutterwaveSimulator, shop_url: str, slug: str) -> DemoAccount:
    # The webhook URL and its secret hash are set once on the merchant's Flutterwave dashboard.
    sim.add_merchant(DEMO_SECRET_KEY, DEMO_SECRET_HASH, webhook_url=f"{shop_url}/pay/flutterwave/{slug}")
    return DemoAccount(
        secrets={"secret_key": DEMO_SECRET_KEY, "secret_hash": DEMO_SECRET_HASH},
        options={"payment_options": "card,mpesa,mobilemoney,banktransfer,ussd"},
    )


async def close(sim: FlutterwaveSimulator) -> None:
    await sim.close()


_WORDS = {"success": "successful", "failed": "failed", "abandoned": "cancelled"}


async def answer_checkout(sim: FlutterwaveSimulator, word: str) -> str:
    open_links = [txn for txn in sim.transactions if txn.status == "pending"]
    if not open_links:
        return "(no open Flutterwave link: choose Flutterwave first)"
    sim.settle(open_links[-1], _WORDS[word])
    return f"(the Flutterwave checkout page was answered: {word})"


PLAY = PlayCommand(("success", "failed", "abandoned"), "answer the open Flutterwave checkout page", answer_checkout)

SIMULATOR = ProviderSimulator(
    provider="flutterwave",
    create=FlutterwaveSimulator,
    app=build_app,
    close=close,
    open_demo_account=open_demo_account,
    play=PLAY,
)
