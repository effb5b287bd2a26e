"""The contract suite's fixtures: ``provider`` runs each case once per online provider in the registry, ``contract``
serves a shop configured with that provider through the real server, its simulator and a recording network.
Each case runs once per online provider in the registry, and for the manual method when marked ``manual_too``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from core.db.engine import Database
from core.vault import Vault
from payments.providers import provider_factories
from tests.contract.harness import Contract
from tests.contract.kits import KITS, Kit
from tests.contract.network import Network
from tests.support.app import shop_server
from tests.support.clocks import MovableClock

MERCHANT, CUSTOMER = 9001, 5001
ONLINE = sorted(provider_factories())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "manual_too: the case applies to the manual method as well")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each case runs once per online provider in the registry, and for the manual method when marked so."""
    if "provider" in metafunc.fixturenames:
        manual = ["manual"] if metafunc.definition.get_closest_marker("manual_too") else []
        metafunc.parametrize("provider", [*ONLINE, *manual])


@pytest.fixture
def kit(provider: str) -> Kit:
    kit = KITS.get(provider)
    if kit is None:
        pytest.fail(f"the provider {provider!r} is registered but has no contract kit: see tests/contract/README.md")
    return kit()


@pytest.fixture
async def contract(kit: Kit, database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Contract]:
    network, clock = Network(), MovableClock()
    async with (
        kit.running() as routes,
        httpx.AsyncClient(transport=network) as http,
        shop_server(database, vault, tmp_path, webhooks=True) as server,
    ):
        network.routes.update(routes)
        server.provider_http, server.clock = http, clock
        shop = await server.add_shop(providers={kit.name: kit.settings()})
        await server.start()
        kit.base_url, kit.shop_slug = server.base_url, shop.slug
        merchant = server.person(shop, MERCHANT, "Mama")
        await merchant.send("/start")  # Telegram lets a bot write only to people who wrote to it
        kit.merchant = merchant
        yield Contract(kit, server, network, clock, shop, merchant, server.person(shop, CUSTOMER, "Wanjiru"))
