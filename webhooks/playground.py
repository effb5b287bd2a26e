"""``dukabot playground``: the whole product on one machine, with no accounts and no network.

It starts a fake Telegram Bot API server, seeds a demo shop (catalog, manual payment, one merchant), runs the real
server against them (long polling, exactly as a shop without a public URL runs), and gives a terminal chat in which a
person types as the customer or as the merchant. Input is read line by line, so a script can be piped in too.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import sys
import zlib
from contextlib import AsyncExitStack
from importlib import resources
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select

from admin import shops
from bot.fakeapi import FakeTelegramServer, FakeUser, SentMessage
from core.db.engine import Database
from core.db.migrate import upgrade
from core.db.tables import OutboxMessage
from core.outbox import OutboxStatus
from core.settings import Settings
from webhooks.app import build_app
from webhooks.playground_payments import PaymentSimulators, payment_simulators
from webhooks.runtime import build_runtime

DEMO_SLUG = "demo"
DEMO_TOKEN = "7000001:PLAYGROUND-demo-shop-token-not-a-real-one"  # noqa: S105 (the fake Telegram's demo bot)
CUSTOMER_ID = 100001
MERCHANT_ID = 100002
INSTRUCTIONS = "Send the amount to Till 555 555 (Demo Duka), or pay cash at the counter."

HELP = """\
You are chatting with the demo shop's Telegram bot. Type as in Telegram:
  /start, /shop, /cart, /orders, /help, /cancel      customer commands
  /pending, /approve CODE, /reject CODE REASON       merchant commands (switch with :m)
  1, 2, 3 ...        press that button of the last message that has buttons
  :c  :m             type as the customer / as the merchant
  :photo [CAPTION]   send a photo (a receipt)   :doc NAME   send a document
  :mpesa OUTCOME     how the customer's phone answers the next M-Pesa prompts:
                     success (default), cancel, wrongpin, insufficient, unreachable, expired, nocallback
  :paystack OUTCOME  answer the open Paystack checkout page: success, failed, abandoned
  :wait [SECONDS]    pause a script while a provider answers
  :help   :quit
"""


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


async def seed_demo_shop(settings: Settings, simulators: PaymentSimulators | None = None) -> None:
    runtime = build_runtime(settings)
    try:
        await upgrade(runtime.database.engine)
        async with runtime.database.uow() as uow:
            if simulators is not None and await shops.list_tenants(uow.session):
                # A kept shop: the simulators listen on new ports this time.
                for provider, secrets, options in simulators.provider_settings():
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
                    now=now,
                )
                await shops.set_provider(
                    uow.session, runtime.vault, DEMO_SLUG, "manual", {}, {"instructions": INSTRUCTIONS}, now
                )
                for provider, secrets, options in simulators.provider_settings() if simulators else []:
                    await shops.set_provider(uow.session, runtime.vault, DEMO_SLUG, provider, secrets, options, now)
                catalog = resources.files("admin").joinpath("sample_catalog.csv").read_text(encoding="utf-8")
                await shops.import_catalog(uow.session, DEMO_SLUG, catalog, now=now)
                await uow.commit()
    finally:
        await runtime.close()


def tiny_png() -> bytes:
    """A valid 1x1 PNG, so the "receipt" photo is a real image without shipping one."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


class Terminal:
    """Prints what the bot sends to each person and turns typed lines into their actions."""

    def __init__(self, customer: FakeUser, merchant: FakeUser, payments: PaymentSimulators | None = None) -> None:
        self.people = {"customer": customer, "merchant": merchant}
        self.payments = payments
        self.active = "customer"
        self.buttons: dict[str, SentMessage] = {}
        self.menus = {who: asyncio.Event() for who in self.people}
        self.shown: set[tuple[int, int, int]] = set()  # (chat, message, revision) printed so far

    def show(self, who: str, message: SentMessage) -> None:
        self.shown.add((message.chat.id, message.message_id, message.revision))
        edited = " (updated)" if message.edit_date else ""
        print(f"\n── bot → {who}{edited} ──")
        if message.photo is not None:
            print("[photo]")
        if message.document is not None:
            print(f"[document {message.document.file_name or ''}]")
        print(message.content)
        flat = [text for row in message.buttons for text, _ in row]
        if flat:
            self.buttons[who] = message
            self.menus[who].set()
            print("  ".join(f"[{number}] {text}" for number, text in enumerate(flat, start=1)))
        for row in message.buttons:
            for text, target in row:
                if target and target.startswith(("http://", "https://")):
                    print(f"  {text}: {target}  (open it in a browser, or type :paystack success)")

    async def watch(self, who: str) -> None:
        person = self.people[who]
        while True:
            with contextlib.suppress(TimeoutError):
                self.show(who, await person.wait_for(lambda _: True, timeout=3600))

    def caught_up(self) -> bool:
        """Whether every message in every chat has been printed as it is now."""
        return all(
            (message.chat.id, message.message_id, message.revision) in self.shown
            for person in self.people.values()
            for message in person.messages
        )

    async def settled(self, who: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has shown ``who`` a message with buttons (the shop's menu after /start)."""
        async with asyncio.timeout(timeout):
            await self.menus[who].wait()

    async def act(self, line: str) -> bool:
        """Carry out one typed line; False when the person asked to quit."""
        line = line.strip()
        person = self.people[self.active]
        if not line:
            return True
        if line in (":q", ":quit", ":exit"):
            return False
        if line in (":c", ":customer", ":m", ":merchant"):
            self.active = "customer" if line.startswith(":c") else "merchant"
            print(f"(you are now the {self.active})")
        elif line == ":help":
            print(HELP)
        elif line.startswith(":photo"):
            await person.send_photo(tiny_png(), caption=line[len(":photo") :].strip() or None)
        elif line.startswith(":wait"):
            # For scripts: a provider's answer (Daraja's callback, a Paystack webhook) comes in its own time.
            seconds = line[len(":wait") :].strip()
            await asyncio.sleep(min(float(seconds), 30.0) if seconds.isdecimal() else 2.0)
        elif line.startswith((":mpesa", ":paystack")) and self.payments is not None:
            command, _, word = line.partition(" ")
            if command == ":mpesa":
                print(self.payments.choose_mpesa(word.strip()))
            else:
                print(await self.payments.pay_paystack(word.strip()))
        elif line.startswith(":doc"):
            name = line[len(":doc") :].strip() or "receipt.pdf"
            await person.send_document(b"%PDF-1.4 demo receipt", name, "application/pdf")
        elif self._button_number(person, line):
            await self._press(person, int(line))
        elif line.startswith("/"):
            command, _, args = line.partition(" ")
            await person.send_command(command, args or None)
        else:
            await person.send_text(line)
        return True

    def _button_number(self, person: FakeUser, line: str) -> bool:
        """A number presses a button only when the bot's latest message here has that many buttons; otherwise it is
        an answer (a phone number, a quantity) and is sent as text."""
        if not line.isdecimal() or not person.messages:  # not isdigit: int() refuses "²"
            return False
        latest = person.messages[-1]
        count = sum(len(row) for row in latest.buttons)
        return 1 <= int(line) <= count and self.buttons.get(self.active) is latest

    async def _press(self, person: FakeUser, number: int) -> None:
        message = self.buttons.get(self.active)
        flat = [text for row in message.buttons for text, _ in row] if message else []
        if not message or not 1 <= number <= len(flat):
            print("(no such button)")
            return
        url = next((target for row in message.buttons for text, target in row if text == flat[number - 1]), None)
        if url and url.startswith(("http://", "https://")):
            print(f"(a link: {url} — open it in a browser, or type :paystack success)")
            return
        try:
            press = await person.press(flat[number - 1], message=message)
            answer = await person.wait_for_answer(press)
        except (LookupError, ValueError, TimeoutError) as error:
            print(f"({error})")
            return
        if answer.text:
            print(f"(bot: {answer.text})")


async def read_lines() -> asyncio.Queue[str | None]:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def pump() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    loop.run_in_executor(None, pump)
    return queue


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


async def run_playground(settings: Settings, *, port: int | None = None, keep: bool = False, pace: float = 0.0) -> None:
    async with FakeTelegramServer() as telegram, AsyncExitStack() as stack:
        telegram.fake.add_bot(DEMO_TOKEN, "demo_duka_bot", "Demo Duka")
        local = demo_settings(settings, telegram.base_url, port)
        webhook = f"http://{local.host}:{local.port}/pay/paystack/{DEMO_SLUG}"
        simulators = await stack.enter_async_context(payment_simulators(webhook))
        database_file = Path(local.data_dir) / "playground.sqlite3"
        if not keep:
            database_file.unlink(missing_ok=True)
        await seed_demo_shop(local, simulators)
        runtime = build_runtime(local)
        runner = web.AppRunner(build_app(runtime))
        await runner.setup()
        site = web.TCPSite(runner, local.host, local.port)
        await site.start()
        customer = telegram.fake.user(DEMO_TOKEN, CUSTOMER_ID, "Wanjiru")
        merchant = telegram.fake.user(DEMO_TOKEN, MERCHANT_ID, "Mama Duka")
        terminal = Terminal(customer, merchant, simulators)
        print(f"dukabot playground: the demo shop's server runs on http://{local.host}:{local.port}")
        print(HELP)
        watchers = [asyncio.create_task(terminal.watch(who)) for who in terminal.people]
        try:
            lines = await read_lines()
            # As in Telegram, a bot can write only to people who wrote to it first: the merchant opens the chat too.
            await merchant.send_command("/start")
            await terminal.settled("merchant")
            await customer.send_command("/start")
            await terminal.settled("customer")
            while (line := await lines.get()) is not None:
                if not await terminal.act(line):
                    break
                # Let the bot answer before the next line, so a button number means a button of what was printed.
                await quiet(terminal, customer, runtime.database)
                await asyncio.sleep(pace)
            await quiet(terminal, customer, runtime.database)
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            await runner.cleanup()
            await runtime.close()
