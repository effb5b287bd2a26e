"""Stripe's simulator in the sandbox registry, with the playground's demo account on it."""

from __future__ import annotations

from sandbox.contract import DemoAccount, PlayCommand, ProviderSimulator
from sandbox.stripe.server import build_app
from sandbox.stripe.simulator import StripeSimulator

DEMO_SECRET_KEY = "sk_test_playground0000000000000000"  # noqa: S105 (known only to the local simulator)
DEMO_WEBHOOK_SECRET = "whsec_playground000000000000000000"  # noqa: S105


def open_demo_account(sim: StripeSimulator, shop_url: str, slug: str) -> DemoAccount:
    # The endpoint and its signing secret are set once on Stripe's dashboard, not sent with each session.
    sim.add_key(DEMO_SECRET_KEY)
    sim.set_endpoint(f"{shop_url}/pay/stripe/{slug}", DEMO_WEBHOOK_SECRET, livemode=False)
    return DemoAccount(secrets={"secret_key": DEMO_SECRET_KEY, "webhook_secret": DEMO_WEBHOOK_SECRET}, options={})


async def close(sim: StripeSimulator) -> None:
    await sim.close()


async def answer_checkout(sim: StripeSimulator, word: str) -> str:
    open_sessions = [session for session in sim.sessions if session.status == "open"]
    if not open_sessions:
        return "(no open Stripe checkout: choose Pay by card first)"
    session = open_sessions[-1]
    if word == "pay":
        sim.pay(session.id)
        sent = 1
    elif word == "expire":
        sim.expire(session.id)
        sent = 1
    else:
        sim.pay_later(session.id, succeeds=False)
        sent = 2
    for event in sim.events[-sent:]:
        await sim.deliver(event)
    return f"(the Stripe checkout was answered: {word})"


PLAY = PlayCommand(("pay", "fail", "expire"), "answer the open Stripe checkout", answer_checkout)

SIMULATOR = ProviderSimulator(
    provider="stripe",
    create=StripeSimulator,
    app=build_app,
    close=close,
    open_demo_account=open_demo_account,
    play=PLAY,
)
