"""Long polling under trouble: every tenant's poller is supervised. A 409 storm, Telegram's 5xx or a tenant whose
token cannot even be read are waited out with back-off while the other shops keep answering; a 401 disables only
that shop's bot, which the operator sees in the database, `dukabot doctor` and /readyz, and mends with a new token.

The poller runs on the real runtime (database, vault, processor, each library's bots) against the fake Telegram; its
``sleep`` returns at once and records each wait, so no test waits on the wall clock for a back-off."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from admin import shops
from bot.polling import DISABLED_REASON, Backoff, Poller
from core.clock import FakeClock, utc
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry, Tenant
from core.pacing import PacingLimits
from core.settings import Settings
from core.vault import Vault
from tests.support.app import (
    FUNDI_CATALOG,
    VAULT_KEY,
    WAIT,
    Shop,
    ShopServer,
    eventually,
    new_bot_token,
    shop_server,
)
from webhooks.app import build_app
from webhooks.cli import main
from webhooks.runtime import Runtime, build_runtime

pytestmark = pytest.mark.every_channel
GREETING = "Karibu, Wanjiru! Welcome to Mama Mboga Store."
FUNDI_GREETING = "Karibu, Wanjiru! Welcome to Fundi Electronics."
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
SINCE = "2026-01-15 09:00 UTC"  # FakeClock's start


class Sleeps:
    """The poller's ``sleep``: records every wait; the first ``free`` return at once, later ones wait for
    ``release`` (so a shop that keeps failing does not spin while the test looks at the others)."""

    def __init__(self, free: int = 100) -> None:
        self.free = free
        self.delays: list[float] = []
        self.release = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if len(self.delays) > self.free:
            await self.release.wait()
        await asyncio.sleep(0)


@dataclass
class Polling:
    server: ShopServer
    runtime: Runtime
    poller: Poller
    sleeps: Sleeps
    clock: FakeClock
    settings: Settings


def settings_for(server: ShopServer, data_dir: Path, *, public_url: str | None = None) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        database_url=server.database.url,
        telegram_api=server.telegram.base_url,
        secret_keys=VAULT_KEY,
        public_url=public_url,
    )


@asynccontextmanager
async def polling_server(
    database: Database,
    vault: Vault,
    tmp_path: Path,
    seed: Callable[[ShopServer], Coroutine[Any, Any, None]],
    *,
    sleeps: Sleeps | None = None,
) -> AsyncIterator[Polling]:
    """Shops seeded by ``seed``, then one Poller for all of them, run until the test is done."""
    async with shop_server(database, vault, tmp_path, webhooks=False) as server:
        await seed(server)
        settings = settings_for(server, tmp_path)
        clock = FakeClock()
        # The fake clock stands still, so pacing (measured on it) would hold a chat's second reply for good; the
        # poller is under test here, not Telegram's per-chat limit (tests/integration/test_reply_pacing.py).
        runtime = build_runtime(settings, clock=clock, pacing_limits=PacingLimits(per_chat_interval=0.0))
        sleeps = sleeps or Sleeps()
        poller = Poller(runtime.database, runtime.channel, runtime.processor, clock=clock, sleep=sleeps, poll_timeout=5)
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run(stop))
        try:
            yield Polling(server, runtime, poller, sleeps, clock, settings)
        finally:
            stop.set()
            sleeps.release.set()
            await asyncio.wait_for(task, WAIT)
            await runtime.close()


async def mama(server: ShopServer) -> None:
    await server.add_shop()


async def mama_and_fundi(server: ShopServer) -> None:
    await server.add_shop()
    await server.add_shop("fundi", "Fundi Electronics", admins=(9002,), catalog=FUNDI_CATALOG)


async def disabled_row(database: Database, slug: str) -> tuple[Any, str | None]:
    async with database.uow() as uow:
        row = (
            await uow.session.execute(
                select(Tenant.bot_disabled_at, Tenant.bot_disabled_reason).where(Tenant.slug == slug)
            )
        ).one()
    return (utc(row[0]) if row[0] is not None else None), row[1]


async def _disabled(database: Database, slug: str) -> bool:
    return (await disabled_row(database, slug))[0] is not None


def bounds(failure: int) -> tuple[float, float]:
    backoff = Backoff()
    ceiling = min(backoff.cap, backoff.first * 2 ** (failure - 1))
    return ceiling / 2, ceiling


def cli(settings: Settings, *args: str, public_url: str | None = None) -> Result:
    env = {
        "DUKABOT_DATA_DIR": str(settings.data_dir),
        "DUKABOT_DATABASE_URL": settings.database_url,
        "DUKABOT_SECRET_KEYS": VAULT_KEY,
        "DUKABOT_TELEGRAM_API": settings.telegram_api,
        "DUKABOT_PUBLIC_URL": public_url,
    }
    return CliRunner().invoke(main, list(args), env=env)


async def test_a_409_storm_ends_with_polling_running_again(
    database: Database, vault: Vault, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.polling")
    async with polling_server(database, vault, tmp_path, mama) as run:
        shop = run.server.shops[0]
        run.server.fake.fail_next("getUpdates", 409, CONFLICT, times=6, token=shop.token)
        customer = run.server.person(shop)

        first = await customer.send("/start")
        second = await customer.send("/start")

        assert GREETING in first.messages[0].content
        assert GREETING in second.messages[0].content
        assert run.server.fake.pending_failures == []
        assert run.server.fake.calls_for(shop.token)["deleteWebhook"] == 1  # a 409 does not take the bot back
        assert len(run.sleeps.delays) == 6
        for failure, delay in enumerate(run.sleeps.delays, start=1):
            low, high = bounds(failure)
            assert low <= delay <= high, (failure, delay)
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.polling"]
    assert said == [
        ("WARNING", f"tenant {shop.tenant_id}: another process or a webhook uses this bot (409); retrying"),
        ("INFO", f"tenant {shop.tenant_id}: polling again after 6 failed tries"),
    ]


async def test_telegram_5xx_is_waited_out(database: Database, vault: Vault, tmp_path: Path) -> None:
    async with polling_server(database, vault, tmp_path, mama) as run:
        shop = run.server.shops[0]
        run.server.fake.fail_next("getUpdates", 500, times=2, token=shop.token)
        run.server.fake.fail_next("getUpdates", 502, token=shop.token)

        assert GREETING in (await run.server.person(shop).send("/start")).messages[0].content
        assert run.server.fake.pending_failures == []
        assert len(run.sleeps.delays) == 3


def test_back_off_doubles_with_jitter_up_to_its_cap() -> None:
    backoff = Backoff(first=1.0, cap=60.0)
    assert [backoff.delay(n, draw=lambda: 1.0) for n in (1, 2, 3, 6, 7, 30)] == [1.0, 2.0, 4.0, 32.0, 60.0, 60.0]
    assert [backoff.delay(n, draw=lambda: 0.0) for n in (1, 2, 7)] == [0.5, 1.0, 30.0]


async def test_a_shop_that_cannot_poll_at_all_leaves_the_others_answering(
    database: Database, vault: Vault, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Mama's token cannot even be decrypted (an error in ``bots.bot_for``, before any getUpdates): her poller
    backs off and tries again, and Fundi's customers are answered meanwhile; a new token mends Mama's."""

    async def broken_mama(server: ShopServer) -> None:
        await mama_and_fundi(server)
        async with server.database.uow() as uow:
            await uow.session.execute(update(Tenant).where(Tenant.slug == "mama-mboga").values(bot_token_enc="junk"))
            await uow.commit()

    sleeps = Sleeps(free=3)
    async with polling_server(database, vault, tmp_path, broken_mama, sleeps=sleeps) as run:
        mama_shop, fundi_shop = run.server.shops
        assert FUNDI_GREETING in (await run.server.person(fundi_shop).send("/start")).messages[0].content

        async def backed_off_four_times() -> bool:
            return len(sleeps.delays) == 4

        await eventually(backed_off_four_times, "mama's poller to back off four times")
        assert await disabled_row(database, "mama-mboga") == (None, None)  # an error of ours never disables a bot

        async with database.uow() as uow:
            await shops.set_bot_token(uow.session, vault, "mama-mboga", mama_shop.token, now=run.clock.now())
            await uow.commit()
        sleeps.release.set()
        assert GREETING in (await run.server.person(mama_shop).send("/start")).messages[0].content
    failures = [r for r in caplog.records if r.name == "bot.polling" and r.levelno >= logging.WARNING]
    assert [(r.levelname, r.getMessage()) for r in failures] == [
        ("ERROR", f"tenant {mama_shop.tenant_id}: polling failed unexpectedly; retrying")
    ]


async def test_a_refused_token_disables_that_bot_only_until_a_new_token(
    database: Database, vault: Vault, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with polling_server(database, vault, tmp_path, mama_and_fundi) as run:
        mama_shop, fundi_shop = run.server.shops
        run.server.fake.revoke(mama_shop.token)
        await eventually(lambda: _disabled(database, "mama-mboga"), "Telegram's 401 to disable the bot of mama-mboga")

        # The row says when and why, in our words only.
        assert await disabled_row(database, "mama-mboga") == (run.clock.now(), DISABLED_REASON)
        assert await disabled_row(database, "fundi") == (None, None)
        # Fundi's customers are answered all along.
        fundi_customer = run.server.person(fundi_shop)
        assert FUNDI_GREETING in (await fundi_customer.send("/start")).messages[0].content

        # /readyz tells it, and stays ready.
        async with TestClient(TestServer(build_app(run.runtime, workers=False))) as client:
            ready = await client.get("/readyz")
            assert ready.status == 200
            assert await ready.json() == {
                "status": "ready",
                "disabled_bots": [
                    {"tenant": "mama-mboga", "since": "2026-01-15T09:00:00+00:00", "reason": DISABLED_REASON}
                ],
            }

        # doctor tells it, and how to mend it; Telegram still refuses the token, so it stays disabled.
        doctor = await asyncio.to_thread(cli, run.settings, "doctor")
        assert doctor.exit_code == 1, doctor.output
        lines = doctor.stdout.splitlines()
        assert [line.split(None, 1)[1].split("  ", 1)[0] for line in lines if line.startswith("FAIL")] == [
            "mama-mboga: telegram"
        ]
        mama_line = next(line for line in lines if "mama-mboga: telegram" in line)
        assert mama_line.endswith(
            f"bot disabled since {SINCE}: {DISABLED_REASON}; getMe refused: Unauthorized; "
            "set a new one: dukabot tenant set-token mama-mboga"
        )
        assert any(line.startswith(" ok ") and "fundi: telegram" in line for line in lines)
        for secret in (mama_shop.token, mama_shop.token.split(":")[1], VAULT_KEY):
            assert secret not in doctor.output
        assert await disabled_row(database, "mama-mboga") == (run.clock.now(), DISABLED_REASON)
        show = await asyncio.to_thread(cli, run.settings, "tenant", "show", "mama-mboga")
        assert (
            f"Problem: the bot is disabled since {SINCE} ({DISABLED_REASON}): set a new token with "
            "`dukabot tenant set-token mama-mboga`" in " ".join(show.output.split())
        ), show.output

        # A new bot for the shop (the old token was revoked at @BotFather): the poller takes it up again.
        new_token = new_bot_token()
        run.server.fake.add_bot(new_token, "mama_mboga_new_bot", "Mama Mboga Store")
        set_token = await asyncio.to_thread(
            cli, run.settings, "tenant", "set-token", "mama-mboga", "--bot-token", new_token
        )
        assert set_token.exit_code == 0, set_token.output
        assert "Shop 'mama-mboga' has a new bot token: its bot is enabled again." in set_token.output
        assert new_token.split(":")[1] not in set_token.output
        assert await disabled_row(database, "mama-mboga") == (None, None)
        renewed = Shop(
            mama_shop.slug, mama_shop.name, mama_shop.tenant_id, new_token, mama_shop.webhook_secret, mama_shop.admins
        )
        run.server.shops.append(renewed)
        run.poller.wake()
        assert GREETING in (await run.server.person(renewed).send("/start")).messages[0].content
        assert FUNDI_GREETING in (await fundi_customer.send("/start")).messages[0].content
        async with TestClient(TestServer(build_app(run.runtime, workers=False))) as client:
            assert await (await client.get("/readyz")).json() == {"status": "ready"}

    refused = [r.getMessage() for r in caplog.records if r.name == "bot.polling" and r.levelno >= logging.ERROR]
    assert refused == [f"tenant {mama_shop.tenant_id}: Telegram refused the bot token; the bot is disabled"]


async def test_doctor_enables_a_disabled_bot_whose_token_works(
    database: Database, vault: Vault, tmp_path: Path
) -> None:
    async with shop_server(database, vault, tmp_path, webhooks=False) as server:
        shop = await server.add_shop()
        runtime = build_runtime(settings_for(server, tmp_path), clock=FakeClock())
        assert await runtime.channel.disable(shop.tenant_id, DISABLED_REASON, FakeClock().now()) is True
        assert await runtime.channel.disable(shop.tenant_id, DISABLED_REASON, FakeClock().now()) is False  # told once
        await runtime.close()

        doctor = await asyncio.to_thread(cli, settings_for(server, tmp_path), "doctor", "mama-mboga")

    assert doctor.exit_code == 0, doctor.output
    assert any(
        line.startswith(" ok ")
        and line.endswith(
            "@mama_mboga_bot (live); inline mode off: turn it on in BotFather with /setinline; the token"
            " works again: bot enabled"
        )
        and "mama-mboga: telegram" in line
        for line in doctor.stdout.splitlines()
    ), doctor.stdout
    assert await disabled_row(database, "mama-mboga") == (None, None)


async def test_webhook_set_refuses_a_disabled_bot(database: Database, vault: Vault, tmp_path: Path) -> None:
    async with shop_server(database, vault, tmp_path, webhooks=False) as server:
        shop = await server.add_shop()
        runtime = build_runtime(settings_for(server, tmp_path), clock=FakeClock())
        await runtime.channel.disable(shop.tenant_id, DISABLED_REASON, FakeClock().now())
        await runtime.close()

        result = await asyncio.to_thread(
            cli, settings_for(server, tmp_path), "webhook", "set", "mama-mboga", public_url="https://shop.example"
        )

        assert result.exit_code == 1
        assert f"bot disabled since {SINCE}: {DISABLED_REASON}." in result.output
        assert "dukabot tenant set-token mama-mboga" in result.output
        assert server.fake.calls_for(shop.token)["setWebhook"] == 0


async def test_webhook_set_learns_the_bots_username_for_the_shops_links(
    database: Database, vault: Vault, tmp_path: Path
) -> None:
    async with shop_server(database, vault, tmp_path, webhooks=False) as server:
        shop = await server.add_shop()

        result = await asyncio.to_thread(
            cli, settings_for(server, tmp_path), "webhook", "set", "mama-mboga", public_url="https://shop.example"
        )

        assert result.exit_code == 0, result.output
        assert server.fake.calls_for(shop.token)["setWebhook"] == 1
        async with database.uow() as uow:
            tenant = await TenantRepository(uow.session).by_id(shop.tenant_id)
            assert tenant is not None and tenant.bot_username == "mama_mboga_bot"  # /promo's t.me links use it
            assert await TenantRepository(uow.session).learn_bot_username(shop.tenant_id, "mama_mboga_bot") is False


async def test_a_new_token_is_checked_and_audited_without_the_token(database: Database, vault: Vault) -> None:
    now = FakeClock().now()
    tokens = {"mama": new_bot_token(), "fundi": new_bot_token()}
    async with database.uow() as uow:
        for slug, token in tokens.items():
            await shops.create_tenant(uow.session, vault, slug=slug, name=slug, bot_token=token, admins=[1], now=now)
        await uow.commit()

    for bad, message in (
        ("not-a-token", "does not look like a Telegram bot token"),
        (tokens["fundi"], "this bot already serves shop 'fundi'"),
    ):
        async with database.uow() as uow:
            with pytest.raises(shops.ShopError, match=message):
                await shops.set_bot_token(uow.session, vault, "mama", bad, now=now)

    fresh = new_bot_token()
    async with database.uow() as uow:
        assert await shops.set_bot_token(uow.session, vault, "mama", fresh, now=now) is False
        await uow.commit()
    async with database.uow() as uow:
        tenant = await shops.require_tenant(uow.session, "mama")
        assert shops.decrypt_bot_token(vault, tenant) == fresh
        audit = (await uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "tenant.bot_token"))).all()
    assert [(entry.target, entry.details) for entry in audit] == [
        ("mama", {"bot_id": fresh.split(":")[0], "was_disabled": False})
    ]
