"""Everything Telegram's servers hold for one bot: its chats, sent messages, files, update queue and webhook."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeVar

from core.clock import Clock

from .errors import ApiError, bad_request, forbidden
from .feed import Listener, TelegramEvent, tell
from .inline import InlineAsked
from .models import (
    CallbackAnswer,
    ChatAction,
    ChatInfo,
    FileKind,
    SentMessage,
    StoredFile,
    UserInfo,
    WebhookDelivery,
)
from .stars import StarsLedger

T = TypeVar("T")

_FILE_FOLDERS: dict[FileKind, tuple[str, str]] = {
    "photo": ("photos", ".jpg"),
    "document": ("documents", ""),
    "sticker": ("stickers", ".webp"),
    "voice": ("voice", ".oga"),
}


def bot_id_from_token(token: str) -> int:
    """A token is "<bot id>:<secret>"; Telegram identifies the bot by the digits."""
    bot_id, separator, secret = token.partition(":")
    if not (bot_id.isdigit() and separator and secret):
        raise ValueError(f"not a bot token: {token!r} (expected '<digits>:<secret>')")
    return int(bot_id)


class Signal:
    """Wakes every waiter whenever something changes; each waiter then re-checks its own condition.

    Unlike asyncio.Condition it needs no lock, so synchronous code (`FakeTelegram.block`) can notify. Wake-ups
    cannot be lost: a waiter checks and starts waiting with no await in between.
    """

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait_until(self, check: Callable[[], T | None]) -> T:
        """The first non-None result of `check`; bound the wait with asyncio.timeout()."""
        while (result := check()) is None:
            if self._event is None:
                self._event = asyncio.Event()
            await self._event.wait()
        return result


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None


@dataclass
class PollTicket:
    """One waiting getUpdates call; another request can end it early."""

    conflict: str | None = None  # set when a newer getUpdates or a setWebhook takes over
    released: bool = False  # set on server shutdown: answer at once with what is there


@dataclass
class PendingQuery:
    chat_id: int
    data: str
    answered: bool = False


class BotAccount:
    """The server-side state of one bot. Tests reach it through `FakeTelegram.bot(token)`; read, don't write."""

    def __init__(self, token: str, user: UserInfo, clock: Clock) -> None:
        self.token = token
        self.user = user
        self.clock = clock
        self.chats: dict[int, ChatInfo] = {}  # chats the bot may write to
        self.blocked: set[int] = set()
        self.files: dict[str, StoredFile] = {}
        self.pending: deque[dict[str, Any]] = deque()  # updates not yet confirmed (getUpdates) or delivered
        self.handed_over_id = 0  # the newest update_id the bot has received
        self.webhook: Webhook | None = None
        self.last_webhook_error: tuple[int, str] | None = None
        self.deliveries: list[WebhookDelivery] = []
        self.poll: PollTicket | None = None
        self.queries: dict[str, PendingQuery] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[ChatAction] = []
        self.commands: list[dict[str, Any]] = []
        self.payments = StarsLedger()  # invoices, pre-checkout queries, the Stars ledger (sandbox.telegram.stars)
        self.inline_queries: dict[str, InlineAsked] = {}  # asked and answered (sandbox.telegram.inline)
        self.polled_kinds: list[str] | None = None  # getUpdates' last allowed_updates
        self.inline_mode = False  # BotFather's /setinline: getMe's supports_inline_queries
        # Bumped on every change; a message's `revision` tells when it was last sent or edited.
        self.revision = 0
        self.changed = Signal()
        self._messages: defaultdict[int, dict[int, SentMessage]] = defaultdict(dict)
        self._last_message_id: defaultdict[int, int] = defaultdict(int)
        self._last_update_id = 0
        self._last_file_number = 0
        self._last_query_number = 0
        # Told of every update queued here (FakeTelegram.listeners, shared by all its bots).
        self.listeners: list[Listener] = []

    def __repr__(self) -> str:
        return f"<BotAccount {self.id} @{self.user.username}>"

    @property
    def id(self) -> int:
        return self.user.id

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def notify(self) -> None:
        """Wakes everything waiting on this bot (pollers, the webhook worker, tests)."""
        self.revision += 1
        self.changed.notify()

    def continue_history(self, last_update_id: int, last_message_ids: Mapping[int, int]) -> None:
        """A bot with a past (a kept playground shop): new update ids follow ``last_update_id`` and each chat's new
        message ids follow its entry in ``last_message_ids``, as Telegram's never go back. Without this a restarted
        fake would hand out update ids the bot has already processed, and message ids of messages it once edited."""
        self._last_update_id = max(self._last_update_id, last_update_id)
        for chat_id, message_id in last_message_ids.items():
            self._last_message_id[chat_id] = max(self._last_message_id[chat_id], message_id)

    # Chats and messages

    def meet(self, chat: ChatInfo) -> None:
        """The bot may write to a chat only after it has heard from it (or was added to the group)."""
        self.chats[chat.id] = chat

    def chat_for_sending(self, chat_id: Any) -> ChatInfo:
        chat = self.known_chat(chat_id)
        if chat.id in self.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def known_chat(self, chat_id: Any) -> ChatInfo:
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        try:
            chat = self.chats.get(int(chat_id))
        except (TypeError, ValueError):
            chat = None  # "@channelusername": the fake has no public channels
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def next_message_id(self, chat_id: int) -> int:
        # In a chat the user's and the bot's messages share one sequence of ids.
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def add_message(self, message: SentMessage) -> None:
        self._messages[message.chat.id][message.message_id] = message
        self.touch(message)

    def touch(self, message: SentMessage) -> None:
        self.notify()
        message.revision = self.revision

    def message(self, chat_id: int, message_id: int | None) -> SentMessage | None:
        message = self._messages.get(chat_id, {}).get(message_id) if message_id is not None else None
        return None if message is None or message.deleted else message

    def messages_in(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self._messages.get(chat_id, {}).values() if not message.deleted]

    # Files

    def store_file(
        self,
        kind: FileKind,
        data: bytes,
        *,
        size: int | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        source_url: str | None = None,
    ) -> StoredFile:
        self._last_file_number += 1
        number = self._last_file_number
        size = len(data) if size is None else size
        folder, extension = _FILE_FOLDERS[kind]
        if file_name and not extension:
            extension = PurePosixPath(file_name).suffix
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        # file_unique_id is the same for the same content across bots, as in Telegram; file_id is per bot.
        digest = hashlib.sha256(data + str(size).encode() + (source_url or "").encode()).hexdigest()
        stored = StoredFile(
            file_id=f"fake-{kind}-{self.id}-{number}",
            file_unique_id=f"u{digest[:15]}",
            kind=kind,
            file_path=f"{folder}/file_{number}{extension}",
            size=size,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            source_url=source_url,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, file_path: str) -> StoredFile | None:
        return next((stored for stored in self.files.values() if stored.file_path == file_path), None)

    # Updates

    def enqueue(self, body: dict[str, Any]) -> dict[str, Any]:
        """Queues an update (body without update_id) for getUpdates or the webhook and returns it whole."""
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, **body}
        self.pending.append(update)
        self.notify()
        tell(self.listeners, TelegramEvent("update", self.id, update))
        return update

    def confirm(self, offset: int | None) -> None:
        """getUpdates' offset: forget updates below it; a negative offset keeps only the last -offset ones."""
        if offset is None:
            return
        if offset < 0:
            while len(self.pending) > -offset:
                self.pending.popleft()
            return
        while self.pending and self.pending[0]["update_id"] < offset:
            self.pending.popleft()

    def hand_over(self, updates: list[dict[str, Any]]) -> None:
        """Marks updates as received by the bot (returned by getUpdates or accepted by the webhook)."""
        if updates:
            self.handed_over_id = max(self.handed_over_id, updates[-1]["update_id"])
            self.notify()

    def finish_delivery(self, update: dict[str, Any]) -> None:
        """Drops a webhook update for good, whether it was accepted or Telegram gave up on it."""
        if update in self.pending:
            self.pending.remove(update)
        self.hand_over([update])

    @property
    def all_handed_over(self) -> bool:
        return not self.pending or self.pending[-1]["update_id"] <= self.handed_over_id

    def start_poll(self) -> PollTicket:
        self.end_poll("terminated by other getUpdates request; make sure that only one bot instance is running")
        self.poll = PollTicket()
        self.changed.notify()  # lets a test wait until the long poll is waiting, rather than sleep
        return self.poll

    def end_poll(self, conflict: str | None) -> None:
        """Ends a waiting getUpdates: with a 409 `conflict`, or (None) with whatever updates are there."""
        if self.poll is not None:
            if conflict is None:
                self.poll.released = True
            else:
                self.poll.conflict = conflict
            self.poll = None
            self.notify()

    # Callback queries

    def new_query(self, chat_id: int, data: str) -> str:
        self._last_query_number += 1
        query_id = f"{self.id}{self._last_query_number:010d}"
        self.queries[query_id] = PendingQuery(chat_id, data)
        return query_id

    def answer_query(self, query_id: str, text: str | None, show_alert: bool, url: str | None) -> None:
        query = self.queries.get(query_id)
        if query is None or query.answered:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        query.answered = True
        self.callback_answers.append(CallbackAnswer(query_id, query.chat_id, query.data, text, show_alert, url))
        self.notify()
