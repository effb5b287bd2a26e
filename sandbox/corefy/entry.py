"""Corefy's simulator in the sandbox registry, with the playground's demo merchant on it."""

from __future__ import annotations

from sandbox.contract import DemoAccount, PlayCommand, ProviderSimulator
from sandbox.corefy.simulator import CorefySimulator
from sandbox.hosted import build_app

DEMO_ACCOUNT = "coma_playground0001"
DEMO_API_KEY = "playground-live-api-key-0001"  # known only to the local simulator
DEMO_SECRET_KEY = "sk_live_playground_secret_0001"  # noqa: S105 (known only to the local simulator)
DEMO_TEST_API_KEY = "playground-test-api-key-0001"
DEMO_TEST_SECRET_KEY = "sk_test_playground_secret_0001"  # noqa: S105


def open_demo_account(sim: CorefySimulator, shop_url: str, slug: str) -> DemoAccount:
    # Corefy posts each invoice's callbacks to the callback_url the shop sends with it.
    sim.add_merchant(DEMO_ACCOUNT, DEMO_API_KEY, DEMO_SECRET_KEY, deliver=True)
    sim.add_merchant(DEMO_ACCOUNT, DEMO_TEST_API_KEY, DEMO_TEST_SECRET_KEY, test=True, deliver=True)
    return DemoAccount(
        secrets={
            "api_key": DEMO_API_KEY,
            "secret_key": DEMO_SECRET_KEY,
            "test_api_key": DEMO_TEST_API_KEY,
            "test_secret_key": DEMO_TEST_SECRET_KEY,
        },
        options={"account_id": DEMO_ACCOUNT, "api_url": "https://api.corefy.invalid"},
    )


async def close(sim: CorefySimulator) -> None:
    await sim.close()


_WORDS = {"success": "processed", "failed": "process_failed", "abandoned": "terminated"}


async def answer_page(sim: CorefySimulator, word: str) -> str:
    open_invoices = [invoice for invoice in sim.invoices if invoice.status in ("created", "processing")]
    if not open_invoices:
        return "(no open Corefy payment page: choose Corefy first)"
    sim.settle(open_invoices[-1], _WORDS[word])
    return f"(the Corefy payment page was answered: {word})"


PLAY = PlayCommand(("success", "failed", "abandoned"), "answer the open Corefy payment page", answer_page)

SIMULATOR = ProviderSimulator(
    provider="corefy",
    create=CorefySimulator,
    app=build_app,
    close=close,
    open_demo_account=open_demo_account,
    play=PLAY,
)
