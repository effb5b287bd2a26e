"""PayPal's simulator in the sandbox registry, with the playground's demo merchant on it."""

from __future__ import annotations

from sandbox.contract import DemoAccount, PlayCommand, ProviderSimulator
from sandbox.paypal.simulator import PayPalSimulator

DEMO_CLIENT_ID = "playground-client-0000000000"
DEMO_SECRET = "playground-secret-0000000000"  # noqa: S105 (known only to the local simulator)
DEMO_WEBHOOK_ID = "WH-PLAYGROUND-0000000000"


def open_demo_account(sim: PayPalSimulator, shop_url: str, slug: str) -> DemoAccount:
    # PayPal's webhook URL is registered with the app, not sent with each order; the demo app is a sandbox one.
    sim.add_app(DEMO_CLIENT_ID, DEMO_SECRET, DEMO_WEBHOOK_ID, sandbox=True, webhook_url=f"{shop_url}/pay/paypal/{slug}")
    options = {"client_id": DEMO_CLIENT_ID, "webhook_id": DEMO_WEBHOOK_ID, "mode": "sandbox"}
    # The demo shop sells in KES, which PayPal does not take: it charges in USD at a demo rate, showing both amounts.
    options |= {"conversion_currency": "USD", "conversion_rate": "0.0077"}
    return DemoAccount(secrets={"client_secret": DEMO_SECRET}, options=options)


async def close(sim: PayPalSimulator) -> None:
    await sim.close()


async def answer_approval(sim: PayPalSimulator, word: str) -> str:
    open_orders = [order for order in sim.orders.values() if order.status == "CREATED"]
    if not open_orders:
        return "(no open PayPal order: choose PayPal first)"
    if word == "cancel":
        return f"(the buyer left PayPal: order {open_orders[-1].id} stays unapproved)"
    sim.approve(open_orders[-1].id, decline=word == "declined")
    return f"(the PayPal approval page was answered: {word})"


PLAY = PlayCommand(("approve", "declined", "cancel"), "answer the open PayPal approval page", answer_approval)

SIMULATOR = ProviderSimulator(
    provider="paypal",
    create=PayPalSimulator,
    app=PayPalSimulator.app,
    close=close,
    open_demo_account=open_demo_account,
    play=PLAY,
)
