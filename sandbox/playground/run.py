"""``dukabot playground``: the whole product on one machine, with no accounts and no network.

It starts a fake Telegram Bot API server, seeds a demo shop (catalog, manual payment, one merchant), runs the real
server against them (long polling, exactly as a shop without a public URL runs, see ``shop.py``), and shows it either
as a page in the browser (``page/``: both phones, the payment pages, what happens underneath) or as a terminal chat in
which a person types as the customer or as the merchant (``--terminal``, or whenever stdin is not a terminal: input is
read line by line, so a script can be piped in too).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from functools import partial
from importlib import resources

from sqlalchemy import func, select

from admin import shops
from core.db.engine import Database
from core.db.migrate import upgrade
from core.db.repos.tenants import TenantRepository
from core.db.tables import OutboxMessage, ProcessedUpdate
from core.money import exponent
from core.outbox import OutboxStatus
from core.settings import Settings
from payments.currency_check import takes_currency
from payments.providers import ENTRIES
from sandbox.africastalking import playground as sms_playground
from sandbox.etims import playground as etims_playground
from sandbox.playground.lines import LineReader
from sandbox.playground.shop import (
    CUSTOMER_ID,
    DEMO_SLUG,
    DEMO_TOKEN,
    INSTRUCTIONS,
    MERCHANT_ID,
    DemoMarket,
    Shop,
    demo_settings,
    open_shop,
)
from sandbox.playground.simulators import PaymentSimulators
from sandbox.playground.terminal import HELP, Terminal
from sandbox.telegram import FakeTelegram, FakeUser
from webhooks.runtime import build_runtime

__all__ = [
    "CUSTOMER_ID",
    "DEMO_SLUG",
    "DEMO_TOKEN",
    "INSTRUCTIONS",
    "MERCHANT_ID",
    "DemoMarket",
    "demo_settings",
    "kept_history",
    "quiet",
    "run_playground",
    "seed_demo_shop",
]


def demo_catalog(market: DemoMarket) -> str:
    """The sample catalog of ``admin`` for the usual Kenyan shop; a catalog priced for the market's currency, with its
    names in Swahili and French, for any other (``catalogs/``: one in shillings, one in CFA francs, which also
    serves the other currencies without minor units)."""
    if market == DemoMarket():
        return resources.files("admin").joinpath("sample_catalog.csv").read_text(encoding="utf-8")
    folder = resources.files("sandbox.playground.catalogs")
    name = f"{market.currency.lower()}.csv"
    if not folder.joinpath(name).is_file():
        name = "xof.csv" if exponent(market.currency) == 0 else "kes.csv"
    return folder.joinpath(name).read_text(encoding="utf-8")


def _takes(provider: str, market: DemoMarket, options: dict[str, object]) -> bool:
    """Whether the demo shop can use a simulated provider: one that does not take its currency is left out (as
    ``dukabot provider set`` would refuse it)."""
    entry = ENTRIES.get(provider)
    return entry is not None and takes_currency(entry, market.currency, options)


async def seed_demo_shop(
    settings: Settings,
    simulators: PaymentSimulators | None = None,
    market: DemoMarket | None = None,
    *,
    etims_url: str | None = None,
    sms_url: str | None = None,
) -> None:
    market = market or DemoMarket()
    runtime = build_runtime(settings)
    try:
        await upgrade(runtime.database.engine)
        async with runtime.database.uow() as uow:
            if simulators is not None and await shops.list_tenants(uow.session):
                # A kept shop: the simulators listen on new ports this time.
                for provider, secrets, options in simulators.provider_settings():
                    if not _takes(provider, market, options):
                        continue
                    await shops.set_provider(
                        uow.session, runtime.vault, DEMO_SLUG, provider, secrets, options, runtime.clock.now()
                    )
                await uow.commit()
            if not await shops.list_tenants(uow.session):
                now = runtime.clock.now()
                await shops.create_tenant(
                    uow.session,
                    runtime.vault,
                    slug=DEMO_SLUG,
                    name="Demo Duka",
                    bot_token=DEMO_TOKEN,
                    admins=[MERCHANT_ID],
                    currency=market.currency,
                    region=market.country,
                    language=market.language,
                    now=now,
                )
                await shops.set_provider(
                    uow.session, runtime.vault, DEMO_SLUG, "manual", {}, {"instructions": INSTRUCTIONS}, now
                )
                for provider, secrets, options in simulators.provider_settings() if simulators else []:
                    if _takes(provider, market, options):
                        await shops.set_provider(uow.session, runtime.vault, DEMO_SLUG, provider, secrets, options, now)
                await shops.import_catalog(uow.session, DEMO_SLUG, demo_catalog(market), now=now)
                await uow.commit()
            if etims_url is not None:  # new or kept, the shop reports to this start's eTIMS simulator
                tenant = await TenantRepository(uow.session).by_slug(DEMO_SLUG)
                assert tenant is not None
                await etims_playground.configure_demo(
                    uow.session, runtime.vault, tenant.id, etims_url, runtime.clock.now()
                )
                await uow.commit()
            if sms_url is not None:  # likewise its SMS receipts, to this start's Africa's Talking simulator
                tenant = await TenantRepository(uow.session).by_slug(DEMO_SLUG)
                assert tenant is not None
                await sms_playground.configure_demo(uow.session, runtime.vault, tenant, sms_url, runtime.clock.now())
                await uow.commit()
    finally:
        await runtime.close()


async def quiet(terminal: Terminal, person: FakeUser, database: Database, limit: float = 10.0) -> None:
    """Wait (at most ``limit`` seconds) until the bot has handled every update, sent every message it owes (the
    outbox, which paces a chat at about one message a second) and the terminal has printed them all.

    A fixed pause is not enough: on a busy machine the next scripted line would press a button of an older message,
    and what the bot said meanwhile would never be printed."""

    async def done() -> bool:
        if person.account.pending or not terminal.caught_up():
            return False
        async with database.uow() as uow:
            owed = await uow.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING.value)
            )
        return not owed and terminal.caught_up()

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit):
            while not await done():  # noqa: ASYNC110 (nothing signals "the outbox is empty" to wait on)
                await asyncio.sleep(0.02)


async def kept_history(database: Database) -> tuple[int, dict[int, int]]:
    """What the kept shop's bot has already seen of Telegram: the newest update id it processed, and in each chat the
    newest message id it sent (the outbox may edit those later). A fresh fake Telegram continues after them."""
    async with database.uow() as uow:
        last_update = await uow.session.scalar(select(func.max(ProcessedUpdate.update_id)))
        rows = await uow.session.execute(
            select(OutboxMessage.chat_id, func.max(OutboxMessage.sent_message_id)).group_by(OutboxMessage.chat_id)
        )
        last_messages = {int(chat_id): int(message_id) for chat_id, message_id in rows if message_id is not None}
    return int(last_update or 0), last_messages


async def run_playground(
    settings: Settings,
    *,
    port: int | None = None,
    keep: bool = False,
    pace: float = 0.0,
    terminal: bool | None = None,
    market: DemoMarket | None = None,
) -> None:
    """``terminal``: the terminal chat (True) or the page (False); None chooses the chat when stdin is no terminal (a
    piped script), the page otherwise. ``market``: where a new demo shop sells (a kept one keeps its own)."""
    if terminal is None:
        terminal = not sys.stdin.isatty()
    try:
        if terminal:
            await _run(settings, port, keep, pace, market)
        else:
            from sandbox.playground.page.serve import serve_page

            await serve_page(settings, port, keep, market=market)
    finally:
        # Everything is closed and the process is about to exit. Its last garbage collection would walk every object
        # the imports built (aiogram's and SQLAlchemy's models): about a second of CPU after :quit or Ctrl-C, for
        # nothing. Frozen objects are left to the exit itself.
        gc.freeze()


async def _run(settings: Settings, port: int | None, keep: bool, pace: float, market: DemoMarket | None) -> None:
    async with open_shop(settings, port, keep=keep, market=market) as shop:
        customer, merchant, local = shop.customer, shop.merchant, shop.settings
        sms = None
        if shop.sms is not None:
            blocking = partial(_block, shop.telegram, customer)
            sms = sms_playground.SmsPlay(shop.sms, blocking)
        terminal = Terminal(
            customer,
            merchant,
            shop.simulators,
            media=shop.media,
            etims=shop.etims,
            sms=sms,
            later=partial(_later, shop),
        )
        print(f"dukabot playground: the demo shop's server runs on http://{local.host}:{local.port}")
        print(HELP)
        watchers = [asyncio.create_task(terminal.watch(who)) for who in terminal.people]
        lines = LineReader()
        try:
            # As in Telegram, a bot can write only to people who wrote to it first: the merchant opens the chat too.
            await merchant.send_command("/start")
            await terminal.settled("merchant")
            await customer.send_command("/start")
            await terminal.settled("customer")
            while (line := await lines.get()) is not None and await terminal.act(line):
                # Let the bot answer before the next line, so a button number means a button of what was printed.
                await quiet(terminal, customer, shop.runtime.database)
                await asyncio.sleep(pace)
        finally:
            lines.close()
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)


async def _later(shop: Shop, hours: float) -> str:
    """``:later``: the shop's clock moved on, and the cart reminders owed by then written (the relay sends them)."""
    shop.clock.skip(hours * 3600)
    sent = await shop.runtime.cart_reminders.run_once()
    shop.runtime.relay.wake()
    return (
        f"(the shop's clock moved {hours:g} h on; cart reminders sent: {sent}. A cart left 6 h gets one, "
        "never from 21:00 to 08:00 shop time: one due then waits for 08:00)"
    )


def _block(telegram: FakeTelegram, customer: FakeUser, blocked: bool) -> None:
    if blocked:
        telegram.block(customer)
    else:
        telegram.unblock(customer)
