"""The operator's view: /healthz, /readyz and /metrics of the real app, and `dukabot doctor` against a real database
and the fake Telegram."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from sqlalchemy import update

from admin import shops
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Tenant
from core.settings import Settings
from core.vault import Vault
from sandbox.telegram import FakeTelegramServer
from tests.support.app import VAULT_KEY, new_bot_token
from webhooks.app import build_app
from webhooks.cli import main
from webhooks.runtime import build_runtime


def settings_for(url: str, data_dir: Path, telegram: str = "http://127.0.0.1:9") -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        database_url=url,
        secret_keys=VAULT_KEY,
        telegram_api=telegram,
    )


async def test_health_readiness_and_metrics(database: Database, tmp_path: Path) -> None:
    runtime = build_runtime(settings_for(database.url, tmp_path), clock=FakeClock())
    async with TestClient(TestServer(build_app(runtime, workers=False))) as client:
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        assert ready.status == 200 and (await ready.json()) == {"status": "ready"}
        scraped = await (await client.get("/metrics")).text()
    await runtime.close()
    for name in (
        "dukabot_telegram_updates",
        "dukabot_callback_seconds",
        "dukabot_payments",
        "dukabot_outbox_depth 0.0",
        "dukabot_outbox_lag_seconds 0.0",
        "dukabot_outbox_dead_letters 0.0",
        "dukabot_relay_rate_limited_total 0.0",
        "dukabot_relay_dead_total 0.0",
    ):
        assert name in scraped, name


async def test_readyz_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    unreachable = "postgresql+asyncpg://dukabot:pw@127.0.0.1:1/dukabot"  # nothing listens on port 1
    runtime = build_runtime(settings_for(unreachable, tmp_path))
    async with TestClient(TestServer(build_app(runtime, workers=False))) as client:
        assert (await client.get("/healthz")).status == 200  # the process is up
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["database"] == "unreachable"
        assert (await client.get("/metrics")).status == 200  # still served, without the database's numbers
    await runtime.close()


async def test_readyz_fails_while_migrations_are_pending(tmp_path: Path) -> None:
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    runtime = build_runtime(settings_for(empty, tmp_path))
    async with TestClient(TestServer(build_app(runtime, workers=False))) as client:
        ready = await client.get("/readyz")
        assert ready.status == 503 and (await ready.json())["database"] == "migrations pending"
    await runtime.close()


async def test_doctor_tells_what_is_ok_and_what_is_not(database: Database, vault: Vault, tmp_path: Path) -> None:
    async with FakeTelegramServer() as telegram:
        good, revoked = new_bot_token(), new_bot_token()
        telegram.fake.add_bot(good, "mama_bot", "Mama")  # the revoked token is unknown to Telegram
        async with database.uow() as uow:
            now = FakeClock().now()
            for slug, token in (("mama", good), ("old-shop", revoked)):
                await shops.create_tenant(
                    uow.session,
                    vault,
                    slug=slug,
                    name=slug,
                    bot_token=token,
                    admins=[1],
                    currency="KES",
                    region="KE",
                    now=now,
                )
            await shops.set_provider(uow.session, vault, "mama", "manual", {}, {"instructions": "Till 1"}, now)
            await uow.session.execute(update(Tenant).where(Tenant.slug == "mama").values(test_mode=True))
            await uow.commit()
        env = {
            "DUKABOT_DATA_DIR": str(tmp_path),
            "DUKABOT_DATABASE_URL": database.url,
            "DUKABOT_SECRET_KEYS": VAULT_KEY,
            "DUKABOT_TELEGRAM_API": telegram.base_url,
            "DUKABOT_PUBLIC_URL": None,
        }
        runner = CliRunner()
        everything = await asyncio.to_thread(runner.invoke, main, ["doctor"], env=env)
        one = await asyncio.to_thread(runner.invoke, main, ["doctor", "mama"], env=env)
        missing = await asyncio.to_thread(runner.invoke, main, ["doctor", "nobody"], env=env)
        bad_setting = await asyncio.to_thread(runner.invoke, main, ["doctor"], env={**env, "DUKABOT_PORT": "99999"})

    assert everything.exit_code == 1, everything.output
    lines = everything.stdout.splitlines()
    assert any(line.startswith(" ok ") and "migrations" in line and "current" in line for line in lines)
    assert any(
        line.startswith(" ok ") and "mama: telegram" in line and "@mama_bot (test mode)" in line for line in lines
    )
    assert any(line.startswith(" ok ") and "mama: manual" in line for line in lines)
    assert any(line.startswith("FAIL") and "old-shop: telegram" in line for line in lines)
    assert "Problems found: 1" in everything.stderr
    assert one.exit_code == 0 and "old-shop" not in one.stdout and "all good" in one.stdout
    assert missing.exit_code == 1 and "no such tenant" in missing.stdout
    assert bad_setting.exit_code == 1 and "DUKABOT_PORT" in bad_setting.stdout
    for result in (everything, one, missing):
        for secret in (good, revoked, good.split(":")[1], revoked.split(":")[1], VAULT_KEY):
            assert secret not in result.output
