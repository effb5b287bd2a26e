"""Acting as Telegram users, in-process: sending messages and pressing buttons, and reading what the bot sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .account import BotAccount
from .inline import InlineAsked, ask_inline
from .models import CallbackAnswer, CallbackPress, ChatAction, ChatInfo, SentMessage, UserInfo

Match = str | Callable[[SentMessage], bool]

# Minimal file signatures, so stickers and voice notes download as plausible files.
STICKER_BYTES = b"RIFF\x1a\x00\x00\x00WEBPVP8 fake-sticker"
VOICE_BYTES = b"OggS\x00\x02fake-voice-note"


class ChatView:
    """The bot's messages in one chat, as the people in it see them (current state, deleted ones gone)."""

    def __init__(self, account: BotAccount, chat: ChatInfo) -> None:
        self.account = account
        self.chat = chat
        # wait_for only looks at what the bot did after the latest action of this view, and returns each
        # (message, revision) once, so successive waits walk through the bot's replies in order.
        self._cursor = account.revision
        self._returned: set[tuple[int, int]] = set()

    @property
    def messages(self) -> list[SentMessage]:
        return self.account.messages_in(self.chat.id)

    @property
    def last(self) -> SentMessage:
        """The bot's newest message here; LookupError if it has sent none."""
        messages = self.messages
        if not messages:
            raise LookupError(f"the bot has sent nothing to chat {self.chat.id}")
        return messages[-1]

    @property
    def chat_actions(self) -> list[ChatAction]:
        return [action for action in self.account.chat_actions if action.chat_id == self.chat.id]

    async def wait_for(
        self,
        match: Match,
        timeout: float = 5.0,  # noqa: ASYNC109 - see FakeTelegram.wait_delivered
    ) -> SentMessage:
        """The first bot message sent or edited since this view's last action that matches.

        `match` is a substring of the text or caption, or a predicate. Raises TimeoutError (listing what the bot
        did send) if nothing matches in time.
        """
        predicate = _predicate(match)

        def check() -> SentMessage | None:
            fresh = (message for message in self.messages if self._is_unreturned_news(message))
            return next((message for message in sorted(fresh, key=_by_revision) if predicate(message)), None)

        try:
            async with asyncio.timeout(timeout):
                found = await self.account.changed.wait_until(check)
        except TimeoutError:
            raise TimeoutError(
                f"no bot message matching {match!r} in chat {self.chat.id} within {timeout}s; "
                f"the chat has: {[message.content for message in self.messages]}"
            ) from None
        self._returned.add((found.message_id, found.revision))
        return found

    def _is_unreturned_news(self, message: SentMessage) -> bool:
        return message.revision > self._cursor and (message.message_id, message.revision) not in self._returned

    def _mark_action(self) -> None:
        self._cursor = self.account.revision


class FakeGroup(ChatView):
    """A group chat the bot posts to (merchant alerts)."""

    @property
    def title(self) -> str:
        return self.chat.title or ""


class FakeUser(ChatView):
    """A user in a private chat with one bot. Each action queues an update and returns it (as JSON)."""

    def __init__(self, account: BotAccount, info: UserInfo) -> None:
        super().__init__(account, ChatInfo.private(info))
        self.info = info

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def blocked(self) -> bool:
        return self.chat.id in self.account.blocked

    @property
    def keyboard(self) -> list[list[str]] | None:
        """The reply keyboard the user currently sees, as rows of button texts."""
        for message in reversed(self.messages):
            if message.keyboard is not None:
                return message.keyboard
            if message.removes_keyboard:
                return None
        return None

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return [answer for answer in self.account.callback_answers if answer.chat_id == self.chat.id]

    async def ask_inline(self, words: str, offset: str = "", **lies: Any) -> InlineAsked:
        """Types ``@bot words`` in some chat and waits for the bot's answer (``sandbox.telegram.inline``)."""
        self._check_can_act()
        return await ask_inline(self, words, offset, **lies)

    async def send_text(self, text: str) -> dict[str, Any]:
        return self._send({"text": text})

    async def send_command(self, command: str, args: str | None = None) -> dict[str, Any]:
        """Sends "/command [args]" with the bot_command entity Telegram adds."""
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {args}" if args else command
        entity = {"type": "bot_command", "offset": 0, "length": len(command)}
        return self._send({"text": text, "entities": [entity]})

    async def send_photo(self, data: bytes, caption: str | None = None) -> dict[str, Any]:
        stored = self.account.store_file("photo", data)
        return self._send(_with_caption({"photo": stored.to_photo_sizes()}, caption))

    async def send_document(
        self,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        declared_size: int | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        """Sends a file; `declared_size` pretends a bigger file (say 25 MB) without allocating it."""
        stored = self.account.store_file("document", data, size=declared_size, file_name=file_name, mime_type=mime_type)
        return self._send(_with_caption({"document": stored.to_document()}, caption))

    async def send_sticker(self) -> dict[str, Any]:
        return self._send({"sticker": self.account.store_file("sticker", STICKER_BYTES).to_sticker()})

    async def send_voice(self, data: bytes = VOICE_BYTES, duration: int = 2) -> dict[str, Any]:
        stored = self.account.store_file("voice", data, mime_type="audio/ogg")
        return self._send({"voice": stored.to_voice(duration)})

    async def share_contact(self, phone: str) -> dict[str, Any]:
        """Shares the user's own contact, as a request_contact keyboard button does."""
        contact = {"phone_number": phone, "first_name": self.info.first_name, "user_id": self.info.id}
        if self.info.last_name:
            contact["last_name"] = self.info.last_name
        return self._send({"contact": contact})

    async def press(
        self,
        text: str | None = None,
        *,
        message: SentMessage | None = None,
        callback_data: str | None = None,
    ) -> CallbackPress:
        """Presses an inline button and sends the callback_query.

        By default the button is looked up by text in the bot's newest message that has it. `message` and
        `callback_data` narrow the search; both together send exactly that data even when no such button
        exists, which lets a test forge a stale or tampered callback.
        """
        if text is None and callback_data is None:
            raise ValueError("press() needs the button text or its callback_data")
        target, data = self._find_button(text, message, callback_data)
        self._check_can_act()
        self._mark_action()
        query_id = self.account.new_query(self.chat.id, data)
        query = {
            "id": query_id,
            "from": self.info.to_api(),
            "message": target.to_api(),
            "chat_instance": f"{self.account.id}{abs(self.chat.id)}",
            "data": data,
        }
        update = self.account.enqueue({"callback_query": query})
        return CallbackPress(query_id, data, target.message_id, update)

    async def wait_for_answer(
        self,
        press: CallbackPress | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - see FakeTelegram.wait_delivered
    ) -> CallbackAnswer:
        """The bot's answerCallbackQuery for `press` (default: for the latest press in this chat)."""
        if press is None:
            queries = [query_id for query_id, query in self.account.queries.items() if query.chat_id == self.chat.id]
            if not queries:
                raise LookupError("nothing was pressed in this chat")
            query_id = queries[-1]
        else:
            query_id = press.query_id

        def check() -> CallbackAnswer | None:
            return next((answer for answer in self.callback_answers if answer.query_id == query_id), None)

        try:
            async with asyncio.timeout(timeout):
                return await self.account.changed.wait_until(check)
        except TimeoutError:
            raise TimeoutError(f"the bot did not answer callback query {query_id} within {timeout}s") from None

    def _find_button(
        self, text: str | None, message: SentMessage | None, callback_data: str | None
    ) -> tuple[SentMessage, str]:
        if message is not None and (message.chat.id != self.chat.id or message.deleted):
            raise LookupError(f"message {message.message_id} is not shown in chat {self.chat.id}")
        candidates = [message] if message is not None else list(reversed(self.messages))
        for candidate in candidates:
            for button in candidate.inline_buttons:
                if (text is None or button.text == text) and (
                    callback_data is None or button.callback_data == callback_data
                ):
                    if button.action != "callback_data" or button.callback_data is None:
                        raise ValueError(f"{button.text!r} is a {button.action} button; it sends no callback_query")
                    return candidate, button.callback_data
        if message is not None and callback_data is not None and text is None:
            return message, callback_data  # a forged press
        wanted = text if text is not None else f"callback_data={callback_data!r}"
        seen = [candidate.buttons for candidate in candidates if candidate.buttons]
        raise LookupError(f"no inline button {wanted!r} in chat {self.chat.id}; buttons there: {seen}")

    def _send(self, content: dict[str, Any]) -> dict[str, Any]:
        self._check_can_act()
        self._mark_action()
        self.account.meet(self.chat)
        message = {
            "message_id": self.account.next_message_id(self.chat.id),
            "from": self.info.to_api(),
            "chat": self.chat.to_api(),
            "date": self.account.now(),
            **content,
        }
        return self.account.enqueue({"message": message})

    def _check_can_act(self) -> None:
        if self.blocked:
            raise RuntimeError(f"user {self.id} has blocked the bot; FakeTelegram.unblock() them first")


def chat_member_update(account: BotAccount, user: UserInfo, *, kicked: bool) -> dict[str, Any]:
    """The my_chat_member update Telegram sends when a user blocks (kicked) or unblocks the bot."""
    member = {"status": "member", "user": account.user.to_api()}
    banned = {"status": "kicked", "user": account.user.to_api(), "until_date": 0}
    old, new = (member, banned) if kicked else (banned, member)
    return {
        "my_chat_member": {
            "chat": ChatInfo.private(user).to_api(),
            "from": user.to_api(),
            "date": account.now(),
            "old_chat_member": old,
            "new_chat_member": new,
        }
    }


def _predicate(match: Match) -> Callable[[SentMessage], bool]:
    if isinstance(match, str):
        return lambda message: match in message.content
    return match


def _by_revision(message: SentMessage) -> int:
    return message.revision


def _with_caption(content: dict[str, Any], caption: str | None) -> dict[str, Any]:
    return content if caption is None else {**content, "caption": caption}
