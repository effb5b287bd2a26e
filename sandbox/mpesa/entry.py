"""Daraja's simulator in the sandbox registry, with the playground's demo app on it."""

from __future__ import annotations

from sandbox.contract import DemoAccount, PlayCommand, ProviderSimulator
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
from sandbox.mpesa.server import build_app
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, DarajaSimulator

DEMO_KEY = "playground-consumer-key"
DEMO_SECRET = "playground-consumer-secret"  # noqa: S105 (known only to the local simulator)


def open_demo_account(sim: DarajaSimulator, shop_url: str, slug: str) -> DemoAccount:
    # Daraja takes its callback URLs with each push, so the shop's URL is not registered here.
    sim.add_app(DEMO_KEY, DEMO_SECRET)
    return DemoAccount(
        secrets={"consumer_key": DEMO_KEY, "consumer_secret": DEMO_SECRET, "passkey": SANDBOX_PASSKEY},
        # The demo shop is live; its Daraja (the simulator) calls back from loopback, not Safaricom.
        options={"shortcode": SANDBOX_SHORTCODE, "ip_allowlist": "127.0.0.1"},
    )


async def close(sim: DarajaSimulator) -> None:
    await sim.aclose()


OUTCOMES: dict[str, SimOutcome] = {
    "success": SUCCESS,
    "cancel": CANCELLED,
    "wrongpin": WRONG_PIN,
    "insufficient": INSUFFICIENT_FUNDS,
    "unreachable": UNREACHABLE,
    "expired": EXPIRED,
    "nocallback": NO_CALLBACK,
}


async def answer_next_prompts(sim: DarajaSimulator, word: str) -> str:
    sim.default_outcome = OUTCOMES[word]
    return f"(the customer's phone will answer the next M-Pesa prompts with: {word})"


PLAY = PlayCommand(tuple(OUTCOMES), "how the customer's phone answers the next M-Pesa prompts", answer_next_prompts)

SIMULATOR = ProviderSimulator(
    provider="mpesa",
    create=DarajaSimulator,
    app=build_app,
    close=close,
    open_demo_account=open_demo_account,
    demo_options={"callback_delay": 2.0},
    play=PLAY,  # seconds between the PIN prompt and the callback, as a person would take
)
