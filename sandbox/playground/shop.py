"""The offline shop both faces of the playground run (the terminal chat and the page): a fake Telegram, every payment
simulator, the seeded demo shop and the real server against them, started together and closed together."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from core.settings import Settings
from sandbox.africastalking import playground as sms_playground
from sandbox.africastalking.simulator import AtSimulator
from sandbox.etims import playground as etims_playground
from sandbox.etims.simulator import EtimsSimulator
from sandbox.playground.simulators import PaymentSimulators, payment_simulators
from sandbox.telegram import BotAccount, FakeTelegram, FakeTelegramServer, FakeUser
from webhooks.app import build_app
from webhooks.runtime import Runtime, build_runtime

DEMO_SLUG = "demo"
DEMO_TOKEN = "7000001:PLAYGROUND-demo-shop-token-not-a-real-one"  # noqa: S105 (the fake Telegram's demo bot)
CUSTOMER_ID = 100001
MERCHANT_ID = 100002
INSTRUCTIONS = "Send the amount to Till 555 555 (Demo Duka), or pay cash at the counter."


@dataclass(frozen=True, slots=True)
class DemoMarket:
    """Where the demo shop sells (``dukabot playground --currency XOF --country BJ --language fr``): its currency, its
    country (how phone numbers are read, its time zone) and the language its customer writes in. Away from Kenya
    and its shillings, the shop sells from a catalog priced for that currency (``catalogs/``)."""

    currency: str = "KES"
    country: str = "KE"
    language: str = "en"


class PlaygroundClock:
    """The time of the shop and of Daraja's simulator: this machine's, plus whatever the visitor skipped ahead (the
    page's "skip a minute"), so a pause M-Pesa imposes need not be sat through."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def skip(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Shop:
    telegram: FakeTelegram
    bot: BotAccount
    customer: FakeUser
    merchant: FakeUser
    simulators: PaymentSimulators
    runtime: Runtime
    settings: Settings
    app: web.Application
    clock: PlaygroundClock
    etims: EtimsSimulator | None = None  # KRA eTIMS's, which the demo shop reports its sales to
    sms: AtSimulator | None = None  # Africa's Talking's, which the demo shop's SMS receipts go to

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def media(self) -> Path:
        return Path(self.settings.data_dir) / "media"


def demo_settings(settings: Settings, api_base: str, port: int | None) -> Settings:
    data_dir = settings.data_dir / "playground"
    return settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": f"sqlite+aiosqlite:///{(data_dir / 'playground.sqlite3').resolve()}",
            "telegram_api": api_base,
            "public_url": None,
            "port": settings.port if port is None else port,
        }
    )


@asynccontextmanager
async def open_shop(
    settings: Settings,
    port: int | None,
    *,
    keep: bool = False,
    http: httpx.AsyncClient | None = None,
    on_app: Callable[[web.Application], None] | None = None,
    simulator_options: dict[str, dict[str, Any]] | None = None,
    chat_interval: float = 1.0,
    market: DemoMarket | None = None,
) -> AsyncIterator[Shop]:
    """The shop running, until the block ends. ``http``: the client the shop calls providers with (the page watches
    it); ``on_app``: a look at the shop's aiohttp application before it starts (the page adds an observer of the
    callbacks it receives). ``chat_interval``: the pause between two messages to one chat, Telegram's second unless a
    test shortens it. Nobody has written to the bot yet."""
    # Imported here: run.py imports this module, and seeding lives there with its history helpers.
    from sandbox.playground.run import kept_history, seed_demo_shop

    clock = PlaygroundClock()
    async with FakeTelegramServer() as telegram, AsyncExitStack() as stack:
        bot = telegram.fake.add_bot(DEMO_TOKEN, "demo_duka_bot", "Demo Duka")
        local = demo_settings(settings, telegram.base_url, port)
        shop_url = f"http://{local.host}:{local.port}"
        simulators = await stack.enter_async_context(
            payment_simulators(
                shop_url,
                DEMO_SLUG,
                {"mpesa": {"clock": clock}, "telegram": {"fake": telegram.fake}, **(simulator_options or {})},
            )
        )
        etims = EtimsSimulator()
        etims_url = await stack.enter_async_context(etims_playground.serving(etims))
        sms = AtSimulator(callback_url=f"{shop_url}/notify/sms/{DEMO_SLUG}/reports")
        sms_url = await stack.enter_async_context(sms_playground.serving(sms))
        data_dir = Path(local.data_dir)
        if not keep:
            (data_dir / "playground.sqlite3").unlink(missing_ok=True)
            shutil.rmtree(data_dir / "media", ignore_errors=True)
        market = market or DemoMarket()
        await seed_demo_shop(local, simulators, market, etims_url=etims_url, sms_url=sms_url)
        runtime = build_runtime(local, clock=clock, http=http, chat_interval=chat_interval)
        stack.push_async_callback(runtime.close)
        # Telegram's update ids never go back: the bot would drop the new /start as one it has already processed.
        bot.continue_history(*await kept_history(runtime.database))
        app = build_app(runtime)
        if on_app is not None:
            on_app(app)
        runner = web.AppRunner(app)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, local.host, local.port).start()
        customer = telegram.fake.user(DEMO_TOKEN, CUSTOMER_ID, "Wanjiru", language_code=market.language)
        merchant = telegram.fake.user(DEMO_TOKEN, MERCHANT_ID, "Mama Duka")
        yield Shop(telegram.fake, bot, customer, merchant, simulators, runtime, local, app, clock, etims, sms)
