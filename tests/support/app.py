"""The real dukabot server for integration tests: the aiohttp app built by ``build_app`` from ``build_runtime``, on a
real socket, against the fake Telegram Bot API server and a real database.

Shops are seeded the way an operator seeds them (``admin.shops``), on the URL of the ``database`` fixture, so every
test that uses this harness runs on SQLite and on PostgreSQL. With ``webhooks=True`` the harness sets a public URL and
registers each shop's webhook through the shop's own bot (as ``dukabot webhook set`` does); without it the server
long-polls every shop's bot, as a shop without a public URL runs.

People are fake Telegram users wrapped in :class:`Person`: each action waits until the server has handled every
queued update (so the replies it owes are all visible) and returns what the bot sent or edited in that chat meanwhile.
:meth:`ShopServer.settle` also waits for the outbox relay to finish (receipts, proofs for review, alerts).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiohttp import web
from sqlalchemy import func, select

from admin import shops
from core.clock import Clock, SystemClock
from core.db.engine import Database
from core.db.tables import Base, InboundEvent, OutboxMessage, PaymentJob
from core.outbox import OutboxStatus
from core.pacing import PacingLimits
from core.settings import Settings
from core.vault import Vault, VaultError
from sandbox.telegram import FakeTelegram, FakeTelegramServer, FakeUser, SentMessage
from sandbox.telegram.delivery import SECRET_HEADER
from tests.support.library import LIBRARY
from webhooks.app import build_app
from webhooks.runtime import Runtime, build_runtime

# The key of the `vault` fixture (tests/conftest.py); ShopServer checks that the two still agree.
VAULT_KEY = "YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E="
WAIT = 10.0  # seconds any wait may take before the test fails (a bounded wait, never a speed assertion)
POLL = 0.002  # seconds between two looks while waiting (at first)

MAMA_CATALOG = """\
sku,name,price,category,description,photo_url,stock
GRO-RICE-2KG,Pishori Rice 2kg,420,Groceries,Aromatic Mwea pishori rice.,https://cdn.duka.example/rice.jpg,40
GRO-SUGAR-1KG,Sugar 1kg,190,Groceries,White sugar in a 1kg packet.,,3
GRO-TEA-500,Kericho Tea 500g,350,Groceries,Loose black tea from Kericho.,,
GRO-MILK-500,Fresh Milk 500ml,65,Groceries,Pasteurised whole milk.,,
GRO-OIL-1L,Cooking Oil 1L,380,Groceries,Vegetable cooking oil.,,
GRO-UNGA-2KG,Maize Flour 2kg,210,Groceries,Sifted maize meal for ugali.,,
GRO-BEANS-1KG,Rosecoco Beans 1kg,250,Groceries,Dry rosecoco beans.,,
GRO-SALT-1KG,Salt 1kg,55,Groceries,Iodised table salt.,,
GRO-EGGS-30,Eggs (tray of 30),480,Groceries,Fresh farm eggs.,,
GRO-BREAD-400,Bread 400g,65,Groceries,Sliced white bread.,,
HSE-SOAP-800,Bar Soap 800g,120,Household,Multipurpose laundry bar soap.,,35
HSE-BLEACH-750,Bleach 750ml,215,Household,Regular bleach.,,0
"""

FUNDI_CATALOG = """\
sku,name,price,category,description,photo_url,stock
ACC-USBC-1M,USB-C Cable 1m,450,Phone accessories,Braided USB-C cable.,https://cdn.fundi.example/usbc.jpg,15
ACC-CHARGER-2A,Wall Charger 2A,750,Phone accessories,Single-port USB wall charger.,,10
ACC-POWERBANK,Power Bank 10000mAh,2500,Power,Slim power bank with two ports.,,5
"""

MAMA_INSTRUCTIONS = "Send the amount to Till 123456 (Mama Mboga), then send the receipt here."
FUNDI_INSTRUCTIONS = "Pay to Paybill 400200, account FUNDI, then send the receipt here."

_bot_numbers = itertools.count(8_100_001)

_quiet_loggers = ("aiohttp.access",)


def new_bot_token() -> str:
    """A token shaped like @BotFather's (``admin.shops`` checks the shape), unique in this test run."""
    return f"{next(_bot_numbers)}:AAH{secrets.token_urlsafe(24)}"


@dataclass(frozen=True)
class Shop:
    slug: str
    name: str
    tenant_id: int
    token: str
    webhook_secret: str
    admins: tuple[int, ...]


@dataclass
class Replies:
    """What the bot did in one chat in answer to one action: messages sent or edited, and the button notice."""

    messages: list[SentMessage]
    notice: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(message.content for message in self.messages)

    @property
    def last(self) -> SentMessage:
        assert self.messages, "the bot sent nothing"
        return self.messages[-1]

    def __contains__(self, words: str) -> bool:
        return words in self.text or (self.notice is not None and words in self.notice)

    def __repr__(self) -> str:
        return f"Replies({[m.content for m in self.messages]!r}, notice={self.notice!r})"


class ErrorLog(logging.Handler):
    """Collects ERROR records of the server's own code: a swallowed exception must fail the test that caused it."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in {"bot", "flows", "admin", "payments", "webhooks", "core", "aiohttp"}:
            self.records.append(record)

    def messages(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" + (f" ({r.exc_info[1]!r})" if r.exc_info else "") for r in self.records]

    def take(self) -> list[str]:
        """The errors logged so far, which the test expected; they no longer fail it."""
        taken = self.messages()
        self.records.clear()
        return taken


class ShopServer:
    """The real server, started and stopped (and restarted) on demand, with the shops it serves."""

    def __init__(
        self,
        telegram: FakeTelegramServer,
        database: Database,
        vault: Vault,
        data_dir: Path,
        *,
        webhooks: bool,
    ) -> None:
        self.telegram = telegram
        self.database = database
        self.vault = vault
        self.data_dir = data_dir
        self.webhooks = webhooks
        self.shops: list[Shop] = []
        self.provider_http: httpx.AsyncClient | None = None  # how the server reaches providers (None: the network)
        self.runtime: Runtime | None = None
        self.port = 0
        self.errors = ErrorLog()
        self.pacing_limits: PacingLimits | None = None  # Telegram's limits as the server paces them (None: default)
        self.clock: Clock = SystemClock()  # the server's time (a test may move it to make checks and expiries due)
        self.library = LIBRARY["name"]  # the Telegram library it serves through (bot/channels.py)
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        try:  # the server gets VAULT_KEY; the shops are seeded with the fixture's vault
            Vault([VAULT_KEY]).decrypt(vault.encrypt("same key?"))
        except VaultError:  # pragma: no cover
            raise AssertionError("tests/support/app.py VAULT_KEY no longer matches the vault fixture") from None

    @property
    def fake(self) -> FakeTelegram:
        return self.telegram.fake

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # Shops

    async def add_shop(
        self,
        slug: str = "mama-mboga",
        name: str = "Mama Mboga Store",
        *,
        admins: Sequence[int] = (9001,),
        catalog: str | None = MAMA_CATALOG,
        instructions: str | None = MAMA_INSTRUCTIONS,
        region: str = "KE",
        currency: str = "KES",
        providers: Mapping[str, tuple[Mapping[str, str], Mapping[str, str]]] | None = None,
        language: str = "en",
    ) -> Shop:
        """Seeds a shop as an operator does; must be called before ``start`` (the poller scans shops at start).

        The manual method is configured with ``instructions`` (None: not at all); ``providers`` configures others,
        by name, as (secrets, options)."""
        token = new_bot_token()
        self.fake.add_bot(token, f"{slug.replace('-', '_')}_bot", name)
        async with self.database.uow() as uow:
            now = SystemClock().now()
            tenant = await shops.create_tenant(
                uow.session,
                self.vault,
                slug=slug,
                name=name,
                bot_token=token,
                admins=list(admins),
                currency=currency,
                region=region,
                language=language,
                now=now,
            )
            if instructions is not None:
                await shops.set_provider(
                    uow.session, self.vault, slug, "manual", {}, {"instructions": instructions}, now
                )
            for provider, (secrets_given, options) in (providers or {}).items():
                await shops.set_provider(uow.session, self.vault, slug, provider, secrets_given, options, now)
            if catalog is not None:
                await shops.import_catalog(uow.session, slug, catalog, now=now)
            secret = shops.decrypt_webhook_secret(self.vault, tenant)
            tenant_id = tenant.id
            await uow.commit()
        shop = Shop(slug, name, tenant_id, token, secret, tuple(admins))
        self.shops.append(shop)
        return shop

    def person(
        self, shop: Shop, user_id: int | None = None, first_name: str = "Wanjiru", language_code: str | None = "en"
    ) -> Person:
        """``language_code``: what Telegram tells of the person's app language ("sw", "fr-CA", None)."""
        return Person(self, shop, self.fake.user(shop.token, user_id, first_name, language_code=language_code))

    # Running

    async def start(self) -> None:
        """Builds a fresh runtime and app (nothing survives from a previous start but the database) and serves it."""
        assert self._runner is None, "already running"
        listener = _listen(self.port)  # the same port after a restart: Telegram keeps calling the same URL
        self.port = listener.getsockname()[1]
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=self.data_dir,
            database_url=self.database.url,
            telegram_api=self.telegram.base_url,
            telegram_library=self.library,
            public_url=self.base_url if self.webhooks else None,
            secret_keys=VAULT_KEY,
            host="127.0.0.1",
            port=self.port,
        )
        # Telegram's one message a second per chat is the relay's own business (tests/unit/test_relay.py); here it
        # would only make every journey wait.
        runtime = build_runtime(
            settings, clock=self.clock, chat_interval=0.05, pacing_limits=self.pacing_limits, http=self.provider_http
        )
        assert runtime.polling is not self.webhooks
        runner = web.AppRunner(build_app(runtime), shutdown_timeout=2.0)
        await runner.setup()
        site = web.SockSite(runner, listener)
        await site.start()
        self.runtime, self._runner = runtime, runner
        logging.getLogger().addHandler(self.errors)
        if self.webhooks:
            for shop in self.shops:
                await self.set_webhook(shop, shop.webhook_secret)

    async def stop(self) -> None:
        """Stops the app and its workers, then the runtime (bots, HTTP client, database engine)."""
        runner, runtime = self._runner, self.runtime
        self._runner = self.runtime = None
        logging.getLogger().removeHandler(self.errors)
        if runner is not None:
            await runner.cleanup()
        if runtime is not None:
            # aiogram's session.close() sleeps 250 ms for TLS shutdown; plain HTTP to localhost needs none, and the
            # sleep would dominate the suite. Closing the HTTP session first skips it.
            inner = getattr(getattr(runtime.channel, "_session", None), "_session", None)
            if inner is not None:
                await inner.close()
            await runtime.close()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def close(self) -> None:
        await self.stop()
        if self._http is not None:
            await self._http.close()

    async def set_webhook(self, shop: Shop, secret: str) -> None:
        """Registers ``shop``'s webhook at this server with ``secret``, through the server's own channel (as
        ``dukabot webhook set`` does)."""
        assert self.runtime is not None, "not running"
        await self.runtime.channel.set_webhook(shop.tenant_id, f"{self.base_url}/tg/{shop.slug}", secret)

    async def hold_updates(self, shop: Shop) -> None:
        """Removes ``shop``'s webhook: Telegram holds its updates (a test then delivers them as it pleases)."""
        assert self.runtime is not None, "not running"
        await self.runtime.channel.take_over_polling(shop.tenant_id)

    # Waiting

    async def idle(self) -> None:
        """Waits until every update queued at the fake Telegram was handled by the server, replies included.

        A webhook update leaves the queue when the server answered its POST (its reply may still be on the way: the
        server counts those); a polled update leaves when the next getUpdates confirms it, which the poller sends only
        after handling the batch.
        """
        accounts = [self.fake.bot(shop.token) for shop in self.shops]
        # The server answers a webhook update before it replies in the chat: wait for the replies it still owes too.
        runtime = self.runtime
        await until(
            lambda: (
                all(not account.pending for account in accounts) and (runtime is None or not runtime.processor.replying)
            ),
            "updates to be handled",
        )

    async def settle(self) -> None:
        """``idle``, the provider events recorded are applied, the payment jobs due have run, and the outbox relay
        has sent every message owed so far (receipts, proofs, alerts)."""
        await self.idle()

        async def drained() -> bool:
            async with self.database.uow() as uow:
                # Provider events answered but not applied yet come first: applying them owes messages.
                inbound = await uow.session.scalar(select(func.count()).select_from(InboundEvent))
                # Payment jobs due or running first: their results are messages owed in turn.
                jobs = await uow.session.scalar(
                    select(func.count())
                    .select_from(PaymentJob)
                    .where(
                        PaymentJob.status.in_(["pending", "running"]),
                        PaymentJob.next_attempt_at <= self.clock.now(),
                    )
                )
                due = await uow.session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == OutboxStatus.PENDING.value)
                )
            return not inbound and not jobs and not due

        await eventually(drained, "the outbox to be delivered")

    # Raw HTTP, as Telegram (or an attacker) would call the server

    async def post_update(self, slug: str, update: dict[str, Any] | bytes, secret: str | None) -> tuple[int, str]:
        """POSTs ``update`` (JSON, or a raw body) to ``/tg/{slug}``; the HTTP status and body of the answer."""
        if self._http is None:
            self._http = aiohttp.ClientSession()
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if isinstance(update, bytes):
            body = {"data": update, "headers": {**headers, "Content-Type": "application/json"}}
        else:
            body = {"json": update, "headers": headers}
        async with self._http.post(f"{self.base_url}/tg/{slug}", **body) as response:
            return response.status, await response.text()

    async def snapshot(self, *, skip: Sequence[str] = ("processed_updates",)) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table (but ``skip``), for "nothing changed" assertions. Call after ``settle``."""
        tables: dict[str, list[tuple[Any, ...]]] = {}
        async with self.database.uow() as uow:
            for table in Base.metadata.sorted_tables:
                if table.name in skip:
                    continue
                rows = await uow.session.execute(select(table).order_by(*table.primary_key.columns))
                tables[table.name] = [tuple(row) for row in rows]
        return tables


class Person:
    """A Telegram user chatting with one shop's bot."""

    def __init__(self, server: ShopServer, shop: Shop, user: FakeUser) -> None:
        self.server = server
        self.shop = shop
        self.user = user

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def messages(self) -> list[SentMessage]:
        return self.user.messages

    def count(self, words: str) -> int:
        """How many of the bot's messages in this chat contain ``words``."""
        return sum(words in message.content for message in self.user.messages)

    def find(self, words: str) -> SentMessage:
        """The newest message of the bot here that contains ``words``."""
        for message in reversed(self.user.messages):
            if words in message.content:
                return message
        raise LookupError(f"no message with {words!r}; the chat has {[m.content for m in self.user.messages]}")

    async def send(self, words: str) -> Replies:
        """Types ``words``: a command when it starts with "/", else plain text."""
        if words.startswith("/"):
            command, _, args = words.partition(" ")
            return await self._act(lambda: self.user.send_command(command, args or None))
        return await self._act(lambda: self.user.send_text(words))

    async def send_settled(self, words: str) -> Replies:
        """``send``, with what the outbox delivers here in answer too (``/pending`` lists proofs through it)."""
        before = self.user.account.revision
        await self.send(words)
        await self.server.settle()
        return Replies(self._since(before))

    async def tap(
        self, text: str | None = None, *, message: SentMessage | None = None, data: str | None = None
    ) -> Replies:
        """Presses an inline button (by its text, in the newest message that has it, unless ``message`` is given);
        with ``message`` and ``data`` and no text, sends that callback data whatever the message's buttons are."""
        before = self.user.account.revision
        press = await self.user.press(text, message=message, callback_data=data)
        answer = await self.user.wait_for_answer(press, timeout=WAIT)
        await self.server.idle()
        return Replies(self._since(before), answer.text)

    async def tap_in_row(self, row_text: str, button: str) -> Replies:
        """Presses ``button`` in the keyboard row that also holds a button containing ``row_text`` (cart rows)."""
        for message in reversed(self.user.messages):
            for row in message.markup.inline:
                if any(row_text in other.text for other in row):
                    for candidate in row:
                        if candidate.text == button and candidate.callback_data:
                            return await self.tap(message=message, data=candidate.callback_data)
        raise LookupError(f"no row with {row_text!r} and a {button!r} button")

    async def photo(self, caption: str | None = None) -> Replies:
        return await self._act(lambda: self.user.send_photo(RECEIPT_JPEG, caption=caption))

    async def document(self, name: str = "receipt.pdf", caption: str | None = None, size: int | None = None) -> Replies:
        return await self._act(
            lambda: self.user.send_document(
                b"%PDF-1.4 receipt", name, "application/pdf", declared_size=size, caption=caption
            )
        )

    async def sticker(self) -> Replies:
        return await self._act(self.user.send_sticker)

    async def voice(self) -> Replies:
        return await self._act(self.user.send_voice)

    async def _act(self, action: Callable[[], Awaitable[Any]]) -> Replies:
        before = self.user.account.revision
        await action()
        await self.server.idle()
        return Replies(self._since(before))

    def _since(self, revision: int) -> list[SentMessage]:
        return sorted((m for m in self.user.messages if m.revision > revision), key=lambda m: m.revision)


# A tiny JPEG header: the fake does not decode images.
RECEIPT_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00receipt\xff\xd9"


@asynccontextmanager
async def shop_server(database: Database, vault: Vault, data_dir: Path, *, webhooks: bool) -> AsyncIterator[ShopServer]:
    """A fake Telegram and an (unstarted) ShopServer; everything is stopped on the way out, and any ERROR the server
    logged fails the test."""
    async with FakeTelegramServer() as telegram:
        server = ShopServer(telegram, database, vault, data_dir, webhooks=webhooks)
        for name in _quiet_loggers:
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            yield server
        finally:
            await server.close()
        assert not server.errors.records, f"the server logged errors: {server.errors.messages()}"


def _listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    listener.setblocking(False)
    return listener


async def until(check: Callable[[], bool], what: str) -> None:
    """Looks every couple of milliseconds: a look is cheap (no I/O), and a late look costs every action its delay."""
    try:
        async with asyncio.timeout(WAIT):
            while not check():  # noqa: ASYNC110 (getUpdates confirming a batch signals nothing to wait on)
                await asyncio.sleep(POLL)
    except TimeoutError:
        raise TimeoutError(f"gave up waiting for {what} after {WAIT}s") from None


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Quick looks first (most waits end within milliseconds), then slower ones: each look is a query, and a long
    wait (the relay pacing a chat at one message a second) should leave the CPU to the server."""
    pause = POLL
    try:
        async with asyncio.timeout(WAIT):
            while True:
                if await check():
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 1.5, 0.02)
    except TimeoutError:
        raise TimeoutError(f"gave up waiting for {what} after {WAIT}s") from None


# Walking a customer through the shop

CODE_LENGTH = 6


def order_code(placed: str) -> str:
    """The code in "Order K7Q2XA is placed. ..."."""
    code = placed.split("Order ", 1)[1].split(" ", 1)[0]
    assert len(code) == CODE_LENGTH and code.isalnum() and code == code.upper(), placed  # "746643" is a code too
    return code


async def place_order(
    person: Person,
    *,
    category: str = "Groceries",
    product: str = "Pishori Rice 2kg · KES 420",
    name: str = "Wanjiru Kamau",
    phone: str = "0712 345 678",
    address: str | None = None,
) -> str:
    """From /start to a placed order (one product, pickup unless an address is given); the order's code."""
    await person.send("/start")
    await person.tap(category)
    await person.tap(product)
    assert (await person.tap("➕ Add to cart")).notice
    await person.send("/cart")
    await person.tap("✅ Checkout")
    await person.send(name)
    await person.send(phone)
    if address is None:
        await person.tap("🏪 Pickup")
    else:
        await person.tap("🚚 Delivery")
        await person.send(address)
    return order_code((await person.tap("✅ Confirm order")).text)


async def send_proof(person: Person, reference: str) -> None:
    """Chooses the manual method on the newest order message and sends a receipt photo with ``reference``."""
    await person.tap("💵 Pay by hand and upload proof")
    assert "was sent to the shop" in await person.photo(caption=reference)
