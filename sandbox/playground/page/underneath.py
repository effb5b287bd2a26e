"""The page's side panel: what happens underneath the chats, in order, with bodies. Telegram updates and Bot API
calls (from the fake Telegram's feed), the shop's requests to providers (hooks on its HTTP client), the providers'
callbacks to the shop (an observer on the shop's application), and the changes of orders, payments, outbox messages
and the shop's mode (read from the database after each of those). Secrets are masked before anything is shown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
from aiohttp import web
from aiohttp.streams import StreamReader
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import Order, OutboxMessage, Payment, Tenant
from sandbox.playground.page.hub import Hub
from sandbox.telegram import TelegramEvent

# A field whose name holds one of these is a secret, whatever the provider: its value is shown cut and masked.
SECRET_WORDS = ("secret", "password", "passkey", "token", "authorization", "signature", "credential")
SECRET_NAMES = frozenset({"pin", "otp", "cvv", "verif-hash"})  # short ones, whole names only ("shipping" is no pin)
QUIET_METHODS = frozenset({"getUpdates", "getMe", "deleteWebhook", "getWebhookInfo"})  # the long poll, not news
TOKEN_LENGTH = 24  # a path segment this long in a callback URL is its secret token
BODY_LIMIT = 6000  # characters of a body shown; the rest is cut (a chart upload is described, not kept, anyway)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def mask(value: str) -> str:
    return value[:4] + "••••" if len(value) > 8 else "••••"


def masked(value: Any) -> Any:
    """``value`` with every secret-named field masked, however deep."""
    if isinstance(value, Mapping):
        return {
            key: mask(str(inner)) if _secret(str(key)) and inner not in (None, "") else masked(inner)
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [masked(inner) for inner in value]
    return value


def _secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_NAMES or any(word in lowered for word in SECRET_WORDS)


def shown(body: Any) -> str:
    """A body as the panel shows it: JSON pretty-printed (masked), or the text as it came."""
    if isinstance(body, bytes | str):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            body = json.loads(text)
        except ValueError:
            form = dict(parse_qsl(text, keep_blank_values=True)) if "=" in text and " " not in text else None
            if not form:
                return text[:BODY_LIMIT]
            body = form
    text = json.dumps(masked(body), indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "\n…"


class Underneath:
    """Writes the side panel's entries to the hub; ``poke`` after anything that may have changed the shop's state."""

    def __init__(self, hub: Hub, bot_id: int, names: dict[int, str]) -> None:
        self.hub = hub
        self.bot_id = bot_id
        self.names = names  # Telegram user id -> the phone's name
        self.poke = asyncio.Event()

    def entry(self, source: str, title: str, body: str = "") -> None:
        self.hub.publish("log", source=source, title=title, body=body)
        self.poke.set()

    # Telegram

    def on_telegram(self, event: TelegramEvent) -> None:
        if event.bot_id != self.bot_id:
            return
        if event.kind == "update":
            self.entry("telegram", f"Telegram → bot: update {self._update_title(event.body)}", shown(event.body))
        elif event.method not in QUIET_METHODS or event.error_code is not None:
            chat = event.body.get("chat_id")
            to = (
                f" to {self.names.get(int(chat), chat)}"
                if isinstance(chat, int | str) and str(chat).lstrip("-").isdecimal()
                else ""
            )
            failed = f" (refused: {event.error_code})" if event.error_code is not None else ""
            self.entry("telegram", f"bot → Telegram: {event.method}{to}{failed}", shown(event.body))

    def _update_title(self, update: Mapping[str, Any]) -> str:
        for kind in ("message", "callback_query", "my_chat_member"):
            if kind in update:
                sender = update[kind].get("from", {}).get("id")
                return f"#{update['update_id']} {kind} from {self.names.get(sender, sender)}"
        return f"#{update.get('update_id')}"

    # Providers: the shop's requests, and their callbacks

    def http_hooks(self) -> dict[str, list[Callable[..., Awaitable[None]]]]:
        """httpx event hooks for the shop's provider client."""

        async def on_response(response: httpx.Response) -> None:
            await response.aread()
            request = response.request
            try:
                sent = shown(request.content) if request.content else "(no body)"
            except httpx.RequestNotRead:
                sent = "(a streamed body)"
            self.entry(
                "provider",
                f"shop → {request.url.host}:{request.url.port} {request.method} {request.url.path} → "
                f"{response.status_code}",
                f"{_headers(request.headers)}{sent}\n\nanswer:\n{shown(response.content)}",
            )

        return {"response": [on_response]}

    @web.middleware
    async def observe_callbacks(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """On the shop's application: each provider callback (a POST to ``/pay/…``) with its body and our answer."""
        if request.method != "POST" or not request.path.startswith("/pay/"):
            return await handler(request)
        again = request.clone()  # before the body is read: aiohttp clones no request after that
        body = await request.read()
        try:
            response = await handler(_fed_again(again, body))
        except web.HTTPException as error:
            self.entry("callback", f"provider → shop: POST {_path(request.path)} → {error.status}", shown(body))
            raise
        self.entry("callback", f"provider → shop: POST {_path(request.path)} → {response.status}", shown(body))
        return response


def _path(path: str) -> str:
    """A callback's path with its token masked (``/pay/stk/<token>``: whoever knows it can post a payment's result)."""
    return "/".join(mask(part) if len(part) >= TOKEN_LENGTH else part for part in path.split("/"))


def _fed_again(request: web.Request, body: bytes) -> web.Request:
    """``request`` (a clone of the one that came) with ``body`` to read once more: the shop reads a callback from
    the stream itself (``request.content``), which the observer has already read."""
    stream = StreamReader(request.protocol, 2**16, loop=asyncio.get_running_loop())
    stream.feed_data(body)
    stream.feed_eof()
    request._payload = stream  # the one way to give a request a new body; only the playground's observer does it
    return request


def _headers(headers: httpx.Headers) -> str:
    secret = [f"{name}: {mask(value)}" for name, value in headers.items() if _secret(name)]
    return "".join(line + "\n" for line in secret) + ("\n" if secret else "")


class StateWatch:
    """Orders, payments, outbox messages and the shop's mode, read after each poke, told when they change."""

    def __init__(self, database: Database, underneath: Underneath, on_mode: Callable[[bool], None]) -> None:
        self.database = database
        self.underneath = underneath
        self.on_mode = on_mode
        self.orders: dict[int, str] = {}
        self.payments: dict[int, str] = {}
        self.outbox: dict[int, str] = {}
        self.test_mode: bool | None = None

    async def run(self) -> None:
        poke = self.underneath.poke
        while True:
            await poke.wait()
            poke.clear()
            await self.look()

    async def look(self) -> None:
        async with self.database.uow() as uow:
            session = uow.session
            tenant_modes = list(await session.scalars(select(Tenant.test_mode)))
            orders = list(await session.execute(select(Order.id, Order.code, Order.status, Order.total_minor)))
            payments = list(
                await session.execute(
                    select(Payment.id, Payment.provider, Payment.status, Payment.reference, Order.code).join(
                        Order, Order.id == Payment.order_id
                    )
                )
            )
            unsettled = [key for key, status in self.outbox.items() if status == "pending"]
            newest = max(self.outbox, default=0)
            outbox = list(
                await session.execute(
                    select(
                        OutboxMessage.id,
                        OutboxMessage.dedupe_key,
                        OutboxMessage.status,
                        OutboxMessage.chat_id,
                        OutboxMessage.payload,
                        OutboxMessage.created_at,
                    ).where((OutboxMessage.id > newest) | OutboxMessage.id.in_(unsettled))
                )
            )
        self._orders(orders)
        self._payments(payments)
        self._outbox(outbox)
        if tenant_modes and tenant_modes[0] != self.test_mode:
            if self.test_mode is not None:
                self.underneath.entry("state", f"shop: test mode {'on' if tenant_modes[0] else 'off'}")
            self.test_mode = bool(tenant_modes[0])
            self.on_mode(self.test_mode)

    def _orders(self, rows: list[Any]) -> None:
        for key, code, status, total in rows:
            before = self.orders.get(key)
            if before != status:
                self.orders[key] = status
                change = f"{before} → {status}" if before else f"created, {status}"
                self.underneath.entry("state", f"order {code}: {change}", f"total (minor units): {total}")

    def _payments(self, rows: list[Any]) -> None:
        for key, provider, status, reference, code in rows:
            before = self.payments.get(key)
            if before != status:
                self.payments[key] = status
                change = f"{before} → {status}" if before else f"created, {status}"
                self.underneath.entry("state", f"payment {reference} ({provider}, order {code}): {change}")

    def _outbox(self, rows: list[Any]) -> None:
        for key, dedupe_key, status, chat_id, payload, created_at in rows:
            before = self.outbox.get(key)
            if before != status:
                self.outbox[key] = status
                to = self.underneath.names.get(int(chat_id), chat_id)
                word = "queued" if before is None and status == "pending" else status
                self.underneath.entry(
                    "outbox", f"outbox #{key} to {to}: {word} ({dedupe_key})", _outbox_body(payload, created_at)
                )


def _outbox_body(payload: Any, created_at: datetime) -> str:
    return f"queued at {created_at:%H:%M:%S}\n{shown(payload)}"
