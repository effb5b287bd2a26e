"""FeexPay's simulator in the sandbox registry, with the playground's demo merchant on it."""

from __future__ import annotations

from sandbox.contract import DemoAccount, PlayCommand, ProviderSimulator
from sandbox.feexpay.server import build_app
from sandbox.feexpay.simulator import FeexPaySimulator

DEMO_API_KEY = "fp_test_playground0000000000000000"
DEMO_SHOP_ID = "playground-shop-01"


def open_demo_account(sim: FeexPaySimulator, shop_url: str, slug: str) -> DemoAccount:
    # The callback URL is set once on the merchant's FeexPay dashboard; the demo shop's live key is a sandbox one.
    sim.add_merchant(DEMO_API_KEY, DEMO_SHOP_ID, sandbox=True, callback_url=f"{shop_url}/pay/feexpay/{slug}")
    return DemoAccount(
        secrets={"api_key": DEMO_API_KEY, "test_api_key": DEMO_API_KEY},
        options={"shop_id": DEMO_SHOP_ID, "test_shop_id": DEMO_SHOP_ID},
    )


async def close(sim: FeexPaySimulator) -> None:
    await sim.close()


async def answer_phone(sim: FeexPaySimulator, word: str) -> str:
    waiting = [request for request in sim.requests if request.status == "PENDING"]
    if not waiting:
        return "(no FeexPay request is waiting on a phone: choose Mobile Money (FeexPay) first)"
    act = {"approve": sim.approve, "decline": sim.decline, "timeout": sim.time_out}[word]
    act(waiting[-1])
    return f"(the phone answered FeexPay's request: {word}; its callback is on its way)"


PLAY = PlayCommand(("approve", "decline", "timeout"), "answer the FeexPay request waiting on the phone", answer_phone)

SIMULATOR = ProviderSimulator(
    provider="feexpay",
    create=FeexPaySimulator,
    app=build_app,
    close=close,
    open_demo_account=open_demo_account,
    play=PLAY,
)
