"""The contract suite's fixtures: ``provider`` runs each case once per online provider in the registry, ``contract``
serves a shop configured with that provider through the real server, its simulator and a recording network.
Each case runs once per online provider in the registry, and for the manual method when marked ``manual_too``."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from admin import shops
from admin.shops.tenant_edit import edit_tenant
from core.db.engine import Database
from core.db.tables import ProviderConfig
from core.money import exponent
from core.vault import Vault
from payments.providers import ENTRIES, provider_factories, registered
from tests.contract import linkpay
from tests.contract.harness import Contract
from tests.contract.kits import KITS, Kit
from tests.contract.network import Network
from tests.support.app import MAMA_CATALOG, shop_server
from tests.support.clocks import MovableClock

MERCHANT, CUSTOMER = 9001, 5001
CANDIDATES = ("TZS", "USD", "NGN", "GHS", "ZAR", "KES")  # currencies of core.money a shop may sell in
# Providers of the suite's own, registered for its cases only: LinkPay, written from docs/adding-a-provider.md alone,
# shows that the page is enough to pass the contract.
TEST_ENTRIES = (linkpay.ENTRY,)
ONLINE = sorted([*provider_factories(), *(entry.name for entry in TEST_ENTRIES)])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "manual_too: the case applies to the manual method as well")
    config.addinivalue_line(
        "markers", "foreign_currency: the shop sells in a currency the provider does not declare (ProviderInfo)"
    )


def foreign_currency(provider: str) -> str | None:
    """A currency of core.money the provider does not take, with cents as the shop's KES has (so the catalog's prices
    read the same); None when it declares no currencies (it takes any) or every one of them (an orchestrator's)."""
    entry = ENTRIES[provider]
    if not entry.info.currencies:
        return None
    taken = {limits.currency for limits in entry.info.currencies}
    return next((code for code in CANDIDATES if code not in taken and exponent(code) == 2), None)


def catalog_for(currency: str) -> str:
    """The shop's catalog. The cases count in minor units (an order of 42000, a refund of 10000, as KES 420 and 100):
    a currency with fewer decimals (XOF has none) sells each product at a price as many times higher, so every amount
    of a case is the same number of minor units."""
    scale = 10 ** (2 - exponent(currency))
    if scale == 1:
        return MAMA_CATALOG
    rows = list(csv.reader(io.StringIO(MAMA_CATALOG)))
    column = rows[0].index("price")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [rows[0], *([*row[:column], str(int(row[column]) * scale), *row[column + 1 :]] for row in rows[1:])]
    )
    return out.getvalue()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each case runs once per online provider in the registry, and for the manual method when marked so."""
    if "provider" in metafunc.fixturenames:
        manual = ["manual"] if metafunc.definition.get_closest_marker("manual_too") else []
        metafunc.parametrize("provider", [*ONLINE, *manual])


@pytest.fixture(autouse=True)
def test_providers() -> Iterator[None]:
    """The suite's own providers are in the registry while a case runs, and only then."""
    with registered(*TEST_ENTRIES):
        yield


@pytest.fixture
def kit(provider: str) -> Kit:
    kit = KITS.get(provider)
    if kit is None:
        pytest.fail(f"the provider {provider!r} is registered but has no contract kit: see tests/contract/README.md")
    return kit()


@pytest.fixture
async def contract(
    kit: Kit, database: Database, vault: Vault, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Contract]:
    currency = kit.currency
    if request.node.get_closest_marker("foreign_currency"):
        foreign = foreign_currency(kit.name)
        if foreign is None:
            pytest.skip(f"{kit.name} declares no currencies, or all of them: it takes whatever the shop sells in")
        currency = foreign
    network, clock = Network(), MovableClock()
    async with (
        kit.running() as routes,
        httpx.AsyncClient(transport=network) as http,
        shop_server(database, vault, tmp_path, webhooks=True) as server,
    ):
        network.routes.update(routes)
        server.provider_http, server.clock = http, clock
        # The provider is set while the shop sells in a currency it takes (`provider set` refuses another); a foreign
        # currency comes after, as when an operator changed a shop's currency before its first order. `tenant edit`
        # now disables such a provider with the change; enabled again here, it stands for a shop whose currency
        # changed before that check (and for an old button or job, which no check can take back).
        shop = await server.add_shop(
            currency=kit.currency, catalog=catalog_for(kit.currency), providers={kit.name: kit.settings()}
        )
        if currency != kit.currency:
            async with database.uow() as uow:
                await edit_tenant(uow.session, shop.slug, currency=currency, disable_providers=True, now=clock.now())
                await uow.session.execute(
                    update(ProviderConfig).where(ProviderConfig.tenant_id == shop.tenant_id).values(enabled=True)
                )
                await shops.import_catalog(uow.session, shop.slug, catalog_for(currency), now=clock.now())
                await uow.commit()
        await server.start()
        kit.base_url, kit.shop_slug = server.base_url, shop.slug
        merchant = server.person(shop, MERCHANT, "Mama")
        await merchant.send("/start")  # Telegram lets a bot write only to people who wrote to it
        kit.merchant = merchant
        yield Contract(kit, server, network, clock, shop, merchant, server.person(shop, CUSTOMER, "Wanjiru"))
