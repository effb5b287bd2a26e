"""Per-tenant state kept by each ``serve`` process (built providers, decrypted settings, webhook secrets) follows the
database: a change made by one process (or by ``dukabot provider set``) is seen by another on SQLite and PostgreSQL,
a kept provider is not rebuilt per callback, and /testmode switches the hosts of the next build at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiohttp
from click.testing import CliRunner
from sqlalchemy import select

from admin import shops
from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.tenant_cache import RECHECK_AFTER
from core.vault import Vault
from payments.base import PaymentProvider
from payments.paystack.signature import SIGNATURE_HEADER, sign
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig
from tests.support.app import VAULT_KEY, ShopServer, eventually, shop_server
from webhooks.cli import main

KEY_A = "sk_live_4f1a9c2e7b3d8f6a0e5c1b9d7a3f2e8c"
KEY_B = "sk_live_9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e"
MPESA_LIVE = ({"consumer_key": "ck-live", "consumer_secret": "cs-live", "passkey": "pk-live"}, {"shortcode": "600111"})


class BuildCount:
    """Counts the builds of one provider through the registry's own factory table (the real factory still builds)."""

    def __init__(self, server: ShopServer, name: str) -> None:
        assert server.runtime is not None
        factories = server.runtime.registry.factories
        real: ProviderFactory = factories[name]
        self.builds = 0

        def counted(config: TenantProviderConfig, deps: ProviderDeps) -> PaymentProvider:
            self.builds += 1
            return real(config, deps)

        factories[name] = counted


@asynccontextmanager
async def second_process(
    server: ShopServer, data_dir: Path, clock: FakeClock | None = None
) -> AsyncIterator[ShopServer]:
    """Another ``serve`` on the same database (its own runtime, caches and port), sharing the fake Telegram."""
    other = ShopServer(server.telegram, server.database, server.vault, data_dir, webhooks=True)
    if clock is not None:
        other.clock = clock
    await other.start()
    try:
        yield other
    finally:
        await other.close()
    assert not other.errors.records, f"the second server logged errors: {other.errors.messages()}"


def transfer(number: int) -> bytes:
    """A signed event dukabot records and does not act on: every delivery reads the shop's Paystack provider."""
    return json.dumps({"event": "transfer.success", "data": {"reference": f"TRF_{number}", "amount": 5000}}).encode()


async def post_paystack(server: ShopServer, slug: str, body: bytes, key: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.base_url}/pay/paystack/{slug}", data=body, headers={SIGNATURE_HEADER: sign(body, key)}
        ) as answer,
    ):
        return answer.status


def cli(database: Database, data_dir: Path) -> Callable[..., asyncio.Future[int]]:
    env = {"DUKABOT_DATA_DIR": str(data_dir), "DUKABOT_DATABASE_URL": database.url, "DUKABOT_SECRET_KEYS": VAULT_KEY}

    def run(*args: str) -> asyncio.Future[int]:
        invoke = CliRunner().invoke
        return asyncio.ensure_future(asyncio.to_thread(lambda: invoke(main, list(args), env=env).exit_code))

    return run


async def test_provider_set_in_one_process_is_used_by_another_at_its_next_webhook(
    database: Database, vault: Vault, tmp_path: Path
) -> None:
    async with shop_server(database, vault, tmp_path / "a", webhooks=True) as server:
        shop = await server.add_shop(providers={"paystack": ({"secret_key": KEY_A}, {})})
        await server.start()
        async with second_process(server, tmp_path / "b") as other:
            counts = [BuildCount(server, "paystack"), BuildCount(other, "paystack")]
            for number in range(3):
                assert await post_paystack(server, shop.slug, transfer(number), KEY_A) == 200
                assert await post_paystack(other, shop.slug, transfer(number), KEY_A) == 200
            assert [count.builds for count in counts] == [1, 1]  # built once per process, not per webhook

            dukabot = cli(database, tmp_path / "cli")
            assert await dukabot("provider", "set", shop.slug, "paystack", "--secret-key", KEY_B) == 0

            for process in (other, server):  # no waiting: the next webhook's transaction reads the new version
                assert await post_paystack(process, shop.slug, transfer(10), KEY_A) == 401
                assert await post_paystack(process, shop.slug, transfer(11), KEY_B) == 200
                assert await post_paystack(process, shop.slug, transfer(12), KEY_B) == 200
            assert [count.builds for count in counts] == [2, 2]


async def test_a_new_webhook_secret_is_seen_by_another_process(
    database: Database, vault: Vault, tmp_path: Path
) -> None:
    """On PostgreSQL the change's NOTIFY drops the other process's copy; on SQLite its re-check does, once due."""
    clock = FakeClock()
    not_an_update = b'{"not": "an update"}'  # past the secret check it is refused 400, and nothing is processed
    async with shop_server(database, vault, tmp_path / "a", webhooks=True) as server:
        shop = await server.add_shop()
        await server.start()
        async with second_process(server, tmp_path / "b", clock) as other:
            assert other.runtime is not None
            cache = other.runtime.tenant_cache
            for _ in range(3):
                assert (await other.post_update(shop.slug, not_an_update, shop.webhook_secret))[0] == 400
            assert cache.loads == 1

            async with database.uow() as uow:  # as a command that gives the shop a new secret would
                tenant = await TenantRepository(uow.session).by_slug(shop.slug)
                assert tenant is not None
                tenant.webhook_secret_enc = vault.encrypt("a-new-secret-for-telegram")
                await uow.commit()

            if database.dialect != "postgresql":
                assert (await other.post_update(shop.slug, not_an_update, shop.webhook_secret))[0] == 400  # not due
                clock.advance(seconds=RECHECK_AFTER.total_seconds())

            async def new_secret_taken() -> bool:
                status, _ = await other.post_update(shop.slug, not_an_update, "a-new-secret-for-telegram")
                return status == 400

            await eventually(new_secret_taken, "the second process to take the new webhook secret")
            assert (await other.post_update(shop.slug, not_an_update, shop.webhook_secret)) == (
                401,
                "wrong secret token",
            )


async def test_testmode_switches_the_hosts_of_the_kept_provider_at_once(
    database: Database, vault: Vault, tmp_path: Path
) -> None:
    async with shop_server(database, vault, tmp_path, webhooks=True) as server:
        shop = await server.add_shop(providers={"mpesa": MPESA_LIVE})
        await server.start()
        count = BuildCount(server, "mpesa")

        async def host() -> tuple[str, str]:
            assert server.runtime is not None
            async with database.uow() as uow:
                tenant = await TenantRepository(uow.session).by_slug(shop.slug)
                assert tenant is not None
                mpesa = await server.runtime.registry.for_tenant(uow.session, tenant, "mpesa")
                settings = getattr(mpesa, "settings")  # noqa: B009
                return str(settings.base_url), str(settings.shortcode)

        assert await host() == await host() == ("https://api.safaricom.co.ke", "600111")
        assert count.builds == 1
        admin = server.person(shop, 9001, "Mama")
        await admin.send("/testmode on")
        await admin.tap("🧪 Yes, turn test mode on")
        assert await host() == ("https://sandbox.safaricom.co.ke", "174379")
        await admin.send("/testmode off")
        await admin.tap("🟢 Yes, go live")
        assert await host() == ("https://api.safaricom.co.ke", "600111")


async def test_key_rotation_gives_every_shop_a_new_version(database: Database, vault: Vault, tmp_path: Path) -> None:
    async with shop_server(database, vault, tmp_path, webhooks=True) as server:
        await server.add_shop("mama-mboga", providers={"paystack": ({"secret_key": KEY_A}, {})})
        await server.add_shop("fundi", "Fundi Electronics", instructions=None)

    async def versions() -> dict[str, int]:
        async with database.uow() as uow:
            rows = await uow.session.execute(select(Tenant.slug, Tenant.config_version))
            return {slug: version for slug, version in rows}

    before = await versions()
    async with database.uow() as uow:
        assert await shops.rotate_keys(uow.session, vault) == 5  # two per shop, and one Paystack bundle
        await uow.commit()
    after = await versions()
    assert sorted(after) == ["fundi", "mama-mboga"]
    assert all(after[slug] != before[slug] for slug in after)


async def test_a_provider_built_from_a_change_that_rolled_back_is_never_used(
    database: Database, vault: Vault, tmp_path: Path
) -> None:
    """The change's transaction may build (and keep) the provider from its own uncommitted settings; it is kept under
    the version that transaction gave the shop, which no committed row carries, so the next transaction builds anew."""
    async with shop_server(database, vault, tmp_path, webhooks=True) as server:
        shop = await server.add_shop(providers={"paystack": ({"secret_key": KEY_A}, {})})
        await server.start()
        assert server.runtime is not None
        registry = server.runtime.registry
        async with database.uow() as uow:  # left without commit: rolled back
            tenant = await TenantRepository(uow.session).by_slug(shop.slug)  # the row in hand, read before the change
            assert tenant is not None
            await shops.set_provider(uow.session, vault, shop.slug, "paystack", {"secret_key": KEY_B}, {}, clock_now())
            inside = await registry.stored_config(uow.session, tenant, "paystack")
            assert inside is not None and inside.secrets["secret_key"] == KEY_B
        async with database.uow() as uow:
            tenant = await TenantRepository(uow.session).by_slug(shop.slug)
            assert tenant is not None
            after = await registry.stored_config(uow.session, tenant, "paystack")
            assert after is not None and after.secrets["secret_key"] == KEY_A
        assert await post_paystack(server, shop.slug, transfer(1), KEY_B) == 401
        assert await post_paystack(server, shop.slug, transfer(2), KEY_A) == 200


def clock_now() -> datetime:
    return FakeClock().now()
