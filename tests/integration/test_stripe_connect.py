"""Stripe Connect through the real server: a shop that is an Express account of the operator's platform. The
merchant onboards from the chat (``/connect stripe``: a job asks Stripe, the link comes back as a button), Stripe's
``account.updated`` arrives at the platform's one endpoint and the merchant is told; customers then pay by
destination charges with the platform's fee; ``/payouts`` shows the account's balance and payouts in the chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import Payment, ProviderConfig
from core.vault import Vault
from payments.states import PaymentStatus
from sandbox.stripe.entry import SIMULATOR
from sandbox.stripe.simulator import StripeSimulator
from tests.contract.network import Network
from tests.support.app import Person, ShopServer, place_order, shop_server
from tests.support.clocks import MovableClock

PLATFORM_KEY, PLATFORM_SECRET = "sk_live_platform00000000000000001", "whsec_platform_connect"
PAY = "💳 Pay by card (Stripe)"


@dataclass
class Rig:
    sim: StripeSimulator
    server: ShopServer
    merchant: Person
    customer: Person
    browser: httpx.AsyncClient

    async def stored_account(self) -> str | None:
        async with self.server.database.uow() as uow:
            config = (
                await uow.session.scalars(select(ProviderConfig).where(ProviderConfig.provider == "stripe"))
            ).one()
            return config.options.get("connected_account")

    async def payment(self) -> Payment:
        async with self.server.database.uow() as uow:
            return (await uow.session.scalars(select(Payment).order_by(Payment.id.desc()).limit(1))).one()


@pytest.fixture
async def rig(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Rig]:
    sim = StripeSimulator()
    sim.add_key(PLATFORM_KEY)
    network = Network()
    settings = (
        {"secret_key": PLATFORM_KEY, "webhook_secret": PLATFORM_SECRET},
        {"connect": "on", "application_fee_percent": "2.5"},
    )
    async with (
        SIMULATOR.serve(sim) as sim_url,
        httpx.AsyncClient(transport=network) as http,
        httpx.AsyncClient(trust_env=False) as browser,
        shop_server(database, vault, tmp_path, webhooks=True) as server,
    ):
        sim.public_url = sim_url
        network.routes["api.stripe.com"] = sim_url
        server.provider_http, server.clock = http, MovableClock()
        shop = await server.add_shop(providers={"stripe": settings})
        await server.start()
        # The platform's one Connect endpoint, for every shop onboarded through it.
        sim.set_endpoint(f"{server.base_url}/pay/stripe/platform/events", PLATFORM_SECRET, livemode=True)
        merchant = server.person(shop, 9001, "Mama")
        await merchant.send("/start")
        yield Rig(sim, server, merchant, server.person(shop, 5001, "Wanjiru"), browser)


async def test_onboarded_from_the_chat_then_paid_by_destination_charge_with_the_fee(rig: Rig) -> None:
    # Before onboarding, a card payment cannot start: the customer is told, the merchant learns why.
    await place_order(rig.customer)
    await rig.customer.tap(PAY)
    await rig.server.settle()
    assert "has not finished setting up its Stripe account" in rig.customer.find("did not go through").content
    assert rig.sim.sessions == []

    assert "Asking Stripe for your account set-up link" in await rig.merchant.send("/connect stripe")
    await rig.server.settle()
    link = rig.merchant.find("Open Stripe's set-up below")
    (url,) = [target for row in link.buttons for label, target in row if label == "🔗 Set up with Stripe"]
    (account,) = rig.sim.accounts
    assert await rig.stored_account() == account and rig.sim.accounts[account].metadata == {"tenant": "mama-mboga"}

    assert (await rig.browser.get(url)).status_code == 200
    done = await rig.browser.post(url)
    assert done.status_code == 303
    page = await rig.browser.get(done.headers["location"])
    assert "Stripe has your details" in page.text
    await rig.server.settle()
    assert rig.merchant.count("Stripe has approved the shop's account") == 1

    # Asking again makes no second account.
    await rig.merchant.send("/connect stripe")
    await rig.server.settle()
    assert list(rig.sim.accounts) == [account]

    await rig.customer.tap("🔁 Pay again")
    await rig.customer.tap(PAY)
    await rig.server.settle()
    session = rig.sim.last()
    assert (session.destination, session.application_fee, session.amount_total) == (account, 1050, 42000)
    checkout = await rig.browser.post(session.url, data={"action": "pay"})
    assert checkout.status_code == 303
    await rig.server.settle()
    assert (await rig.payment()).status == PaymentStatus.PAID
    assert rig.customer.count("Payment received") == 1

    rig.sim.payout(account, 20000, "kes")
    await rig.merchant.send("/payouts")
    await rig.server.settle()
    shown = rig.merchant.find("Available at Stripe").content
    assert "KES 409.50" in shown and "KES 200 (paid)" in shown


async def test_a_shop_on_its_own_keys_has_no_connect(database: Database, vault: Vault, tmp_path: Path) -> None:
    own = ({"secret_key": "sk_live_own00000000000000000001", "webhook_secret": "whsec_own"}, {})
    async with shop_server(database, vault, tmp_path, webhooks=True) as server:
        shop = await server.add_shop(providers={"stripe": own})
        await server.start()
        merchant = server.person(shop, 9001, "Mama")
        await merchant.send("/start")
        assert "does not take Stripe through the platform's Connect" in await merchant.send("/connect stripe")
        assert "does not take Stripe through the platform's Connect" in await merchant.send("/payouts")
