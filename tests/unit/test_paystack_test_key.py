"""A Paystack shop with a live key and a test key: test mode switches the key; webhooks of either key are read."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import update

from admin import shops
from admin.shops import ShopError
from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.vault import Vault
from payments.base import Callback, InvalidCallback
from payments.paystack.provider import PaystackProvider
from payments.paystack.signature import SIGNATURE_HEADER, sign
from payments.providers import provider_factories
from payments.registry import ProviderDeps, ProviderRegistry
from tests.support.seed import seed_shop

LIVE = "sk_live_1111111111111111111111111111111111111111"
TEST = "sk_test_2222222222222222222222222222222222222222"
BODY = json.dumps(
    {
        "event": "charge.success",
        "data": {
            "id": 1,
            "status": "success",
            "reference": "dkx",
            "amount": 30000,
            "currency": "KES",
            "domain": "live",
        },
    }
).encode()


async def provider(database: Database, vault: Vault, clock: FakeClock, *, test_mode: bool) -> PaystackProvider:
    async with database.uow() as uow:
        tenant = await shops.require_tenant(uow.session, "mama-mboga")
        await uow.session.execute(update(Tenant).where(Tenant.id == tenant.id).values(test_mode=test_mode))
        await uow.commit()
    async with database.uow() as uow, httpx.AsyncClient() as http:
        registry = ProviderRegistry(vault, ProviderDeps(http, clock, "http://127.0.0.1:8080"), provider_factories())
        tenant = await TenantRepository(uow.session).by_slug("mama-mboga")
        assert tenant is not None
        built = await registry.for_tenant(uow.session, tenant, "paystack")
    assert isinstance(built, PaystackProvider)
    return built


def signed(key: str) -> Callback:
    return Callback(body=BODY, headers={SIGNATURE_HEADER: sign(BODY, key)}, path_params={"tenant": "mama-mboga"})


@pytest.fixture
async def shop(database: Database, vault: Vault, clock: FakeClock) -> None:
    await seed_shop(database, vault, clock)
    async with database.uow() as uow:
        secrets = {"secret_key": LIVE, "test_secret_key": TEST}
        await shops.set_provider(uow.session, vault, "mama-mboga", "paystack", secrets, {}, clock.now())
        await uow.commit()


async def test_test_mode_uses_the_test_key(shop: None, database: Database, vault: Vault, clock: FakeClock) -> None:
    live = await provider(database, vault, clock, test_mode=False)
    test = await provider(database, vault, clock, test_mode=True)
    assert live.client.mode == "live" and not live.test_mode
    assert test.client.mode == "test" and test.test_mode


async def test_webhooks_signed_with_either_key_are_read(
    shop: None, database: Database, vault: Vault, clock: FakeClock
) -> None:
    test = await provider(database, vault, clock, test_mode=True)
    for key in (TEST, LIVE):  # LIVE: a payment started before the switch
        event = test.read_webhook(signed(key))
        assert (event.event, event.transaction.reference, event.transaction.amount) == ("charge.success", "dkx", 30000)
    with pytest.raises(InvalidCallback) as refused:
        test.read_webhook(signed("sk_test_3333333333333333333333333333333333333333"))
    assert refused.value.status == 401


async def test_the_test_key_must_be_a_test_key(database: Database, vault: Vault, clock: FakeClock) -> None:
    await seed_shop(database, vault, clock)
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="test_secret_key starts with sk_test_"):
            await shops.set_provider(
                uow.session,
                vault,
                "mama-mboga",
                "paystack",
                {"secret_key": LIVE, "test_secret_key": LIVE},
                {},
                clock.now(),
            )
