"""One run of the page's shop: its phones (the customer's, the merchant's, and any customer added), what each shows,
and the visitor's actions on them. A reset ends the session and the page starts a new one on a fresh shop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from core.buttons import SetTestMode
from sandbox.mpesa.models import HOLD
from sandbox.playground.page.hub import Hub
from sandbox.playground.page.prompts import Prompts
from sandbox.playground.page.underneath import StateWatch, Underneath
from sandbox.playground.page.views import MessageView, bot_message, sent_message
from sandbox.playground.shop import MERCHANT_ID, Shop
from sandbox.telegram import BotAccount, FakeUser, TelegramEvent

log = logging.getLogger(__name__)
MORE_CUSTOMERS = ("Otieno", "Achieng", "Kamau", "Njeri", "Mutua")  # the names of the phones "add a customer" makes
SKIP_SECONDS = 60
ANSWER_SECONDS = 10.0  # how long a press waits for the bot's answer (its toast) before the page stops waiting


@dataclass
class Phone:
    key: str  # "customer", "merchant", "customer-2" ...
    role: str  # "customer" or "merchant"
    title: str
    user: FakeUser
    shown: set[int] = field(default_factory=set)  # the bot's messages on the page


class Session:
    def __init__(self, shop: Shop, hub: Hub, underneath: Underneath, prompts: Prompts, render: Any) -> None:
        self.shop = shop
        self.hub = hub
        self.underneath = underneath
        self.prompts = prompts
        self.render = render  # MessageView -> its HTML
        self.phones: dict[str, Phone] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        mpesa = shop.simulators.running["mpesa"]
        mpesa.sim.default_outcome = HOLD  # every push waits for the visitor's answer on the phone
        prompts.sim, prompts.sim_url, prompts.database = mpesa.sim, mpesa.url, shop.runtime.database
        prompts.phone_of = self.phone_key

    # Starting and ending

    async def start(self) -> None:
        self.shop.telegram.listeners.append(self.on_telegram)
        self._add_phone("merchant", "merchant", "Mama Duka (merchant)", self.shop.merchant)
        self._add_phone("customer", "customer", "Wanjiru (customer)", self.shop.customer)
        self.spawn(self._watch_messages())
        self.spawn(StateWatch(self.shop.runtime.database, self.underneath, self._mode).run())
        # As in Telegram, a bot can write only to people who wrote to it first: the merchant opens the chat too.
        for phone in (self.phones["merchant"], self.phones["customer"]):
            await phone.user.send_command("/start")
            with contextlib.suppress(TimeoutError):
                await phone.user.wait_for(lambda message: bool(message.inline_buttons), timeout=15)

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.shop.telegram.listeners.remove(self.on_telegram)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A press the bot never answered, a mode it did not confirm: the page goes on, the console says so.
            log.warning("playground page: %s", task.exception())

    # Phones

    def _add_phone(self, key: str, role: str, title: str, user: FakeUser) -> Phone:
        phone = Phone(key, role, title, user)
        self.phones[key] = phone
        self.underneath.names[user.id] = title.partition(" (")[0]
        self.hub.publish("phone", phone=key, role=role, title=title)
        return phone

    def phone_key(self, user_id: int) -> str | None:
        return next((phone.key for phone in self.phones.values() if phone.user.id == user_id), None)

    async def add_customer(self) -> str:
        number = sum(1 for phone in self.phones.values() if phone.role == "customer")
        name = MORE_CUSTOMERS[(number - 1) % len(MORE_CUSTOMERS)]
        user_id = MERCHANT_ID + number  # 100003, 100004 ...: next to the two of the demo shop
        user = self.shop.telegram.user(self.shop.bot.token, user_id, name)
        key = f"customer-{number + 1}"
        self._add_phone(key, "customer", f"{name} (customer {number + 1})", user)
        await user.send_command("/start")
        return key

    # What the bot and the people do, as the fake Telegram tells it

    def on_telegram(self, event: TelegramEvent) -> None:
        self.underneath.on_telegram(event)
        if event.bot_id != self.shop.bot.id:
            return
        if event.kind == "update" and "message" in event.body:
            message = event.body["message"]
            key = self.phone_key(int(message["chat"]["id"]))
            if key is not None:
                self._show(key, sent_message(message))
        elif event.kind == "call" and event.method == "answerCallbackQuery" and event.body.get("text"):
            query = self.shop.bot.queries.get(str(event.body.get("callback_query_id")))
            key = self.phone_key(query.chat_id) if query is not None else None
            if key is not None:
                self.hub.publish("toast", phone=key, text=str(event.body["text"]))

    async def _watch_messages(self) -> None:
        bot, seen = self.shop.bot, 0
        while True:
            revision = await bot.changed.wait_until(_revision_after(bot, seen))
            for phone in list(self.phones.values()):
                current = phone.user.messages
                for message in sorted(current, key=lambda message: message.revision):
                    if message.revision > seen:
                        self._show(phone.key, bot_message(message))
                ids = {message.message_id for message in current}
                for gone in phone.shown - ids:
                    self.hub.publish("remove", phone=phone.key, id=gone)
                phone.shown = ids
            seen = revision

    def _show(self, key: str, view: MessageView) -> None:
        self.hub.publish("message", phone=key, id=view.id, html=self.render(view))

    # The visitor's actions

    async def send_text(self, key: str, text: str) -> None:
        user = self.phones[key].user
        if text.startswith("/"):
            command, _, args = text.partition(" ")
            await user.send_command(command, args.strip() or None)
        else:
            await user.send_text(text)

    async def press(self, key: str, message_id: int, index: int) -> str | None:
        """Presses button ``index`` of a bot message; what went wrong, or None."""
        user = self.phones[key].user
        message = user.account.message(user.chat.id, message_id)
        buttons = message.inline_buttons if message is not None else []
        if message is None or not 0 <= index < len(buttons) or buttons[index].callback_data is None:
            return "That button is not there any more."
        press = await user.press(message=message, callback_data=buttons[index].callback_data)
        self.spawn(user.wait_for_answer(press, timeout=ANSWER_SECONDS))  # the toast comes through on_telegram
        return None

    async def upload(self, key: str, name: str, content_type: str, data: bytes, caption: str | None) -> None:
        """A file from the visitor's disk: a photo when it is a JPEG or PNG (as Telegram compresses one), else a
        document."""
        user = self.phones[key].user
        if content_type in ("image/jpeg", "image/png"):
            await user.send_photo(data, caption=caption)
        else:
            await user.send_document(data, name or "file", content_type or None, caption=caption)

    async def set_test_mode(self, turn_on: bool) -> None:
        """The merchant's own way: ``/testmode on|off`` in their chat, then the confirmation button."""
        merchant = self.phones["merchant"].user
        wanted = SetTestMode(turn_on).pack()
        await merchant.send_command("/testmode", "on" if turn_on else "off")
        try:
            question = await merchant.wait_for(
                lambda message: any(button.callback_data == wanted for button in message.inline_buttons),
                timeout=ANSWER_SECONDS,
            )
        except TimeoutError:
            return  # already in that mode: the bot said so
        await merchant.press(message=question, callback_data=wanted)

    def skip_minute(self) -> None:
        self.shop.clock.skip(SKIP_SECONDS)
        minutes = int(self.shop.clock.offset.total_seconds() // 60)
        self.hub.publish("clock", minutes=minutes)
        self.underneath.entry("clock", f"the shop's clock and Daraja's moved 1 minute on (+{minutes} min in all)")
        self.shop.runtime.jobs.wake()
        self.shop.runtime.relay.wake()

    def _mode(self, test_mode: bool) -> None:
        self.hub.publish("mode", test_mode=test_mode)


def _revision_after(bot: BotAccount, seen: int) -> Callable[[], int | None]:
    def check() -> int | None:
        return bot.revision if bot.revision > seen else None

    return check
