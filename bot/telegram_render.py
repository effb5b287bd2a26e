"""A ``core.messages.Message`` as Telegram Bot API calls, whatever library makes them: the ``core.notify.Notifier`` of
both Telegram channels (``bot/aiogram``, ``bot/ptb``), which differ only in their :class:`TelegramCalls`.

Rendering:

- a photo (URL or file_id) carries the text as its caption; a document likewise. A caption is limited to 1024
  characters: a longer text goes out as text message(s) right after the photo or document;
- otherwise a text message, split into parts of at most 4096 characters, at line breaks or spaces where possible;
- the inline keyboard goes on the last message sent, so it stays under everything it refers to.

Editing (``edit_message_id``, for a message that replaces an earlier one): a text message is edited with
editMessageText, a photo or document message with editMessageCaption (the picture or file itself stays), in both cases
with the new message's keyboard (none removes the old one). A message that does not fit in one message is not edited.
Any refusal of the edit (too old, deleted, text versus media...) falls back to sending the message anew; "message is
not modified" means it already shows this, so it counts as delivered. ``send`` returns the id of the message that
shows the message: the edited one, or the last one sent. ``anew`` is sent instead of the message when it goes out as
new.

Limits are measured in UTF-16 code units, as Telegram counts them (an emoji outside the BMP counts two).
A multi-part message that fails half-way is retried whole by the relay: its first parts may then arrive twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Literal, Protocol, TypeVar

from core.channel_limits import TELEGRAM
from core.messages import Button, Message
from core.notify import NotifierError, PermanentError, Undeliverable
from core.unicode import clean_text

T = TypeVar("T")
TEXT_LIMIT = TELEGRAM.text
CAPTION_LIMIT = TELEGRAM.caption
Keyboard = tuple[tuple[Button, ...], ...]
MediaKind = Literal["photo", "document"]

# 400 descriptions that mean the chat cannot be written to at all (retrying cannot help).
UNREACHABLE = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "chat_write_forbidden",
    "have no rights to send",
    "not enough rights to send",
)
NOT_MODIFIED = "message is not modified"


class TelegramCalls(Protocol):
    """One bot's Bot API calls, through one library. Each raises a ``core.notify`` error for any failure (the
    library's channel translates its exceptions); ``keyboard`` is rendered as the library renders inline keyboards
    (none: no ``reply_markup``)."""

    async def send_text(self, chat_id: int, text: str, keyboard: Keyboard) -> int: ...

    async def send_media(
        self,
        chat_id: int,
        kind: MediaKind,
        media: str | bytes,
        caption: str | None,
        keyboard: Keyboard,
        *,
        filename: str = "chart.png",
    ) -> int:
        """A photo or document by URL or file_id (``str``), or uploaded as ``filename`` (``bytes``: a chart drawn
        on the server, a PDF receipt)."""
        ...

    async def edit_text(self, chat_id: int, message_id: int, text: str, keyboard: Keyboard) -> None: ...

    async def edit_caption(self, chat_id: int, message_id: int, caption: str, keyboard: Keyboard) -> None: ...


class TelegramNotifier:
    """The ``core.relay.Notifier`` port over a library's :class:`TelegramCalls`: one tenant, one bot."""

    def __init__(self, calls_for: Callable[[int], Awaitable[TelegramCalls]]) -> None:
        self._calls_for = calls_for

    async def send(
        self,
        tenant_id: int,
        chat_id: int,
        message: Message,
        *,
        edit_message_id: int | None = None,
        anew: Message | None = None,
    ) -> int | None:
        calls = await self._calls_for(tenant_id)
        # A lone surrogate cannot be encoded for the Bot API: without this the whole message would be lost.
        message = dataclasses.replace(message, text=clean_text(message.text))
        if edit_message_id is not None and await self._edit(calls, chat_id, edit_message_id, message):
            return edit_message_id
        return await self._render(calls, chat_id, anew or message)

    @staticmethod
    async def _edit(calls: TelegramCalls, chat_id: int, message_id: int, message: Message) -> bool:
        """Edits ``message_id`` into ``message``; False when Telegram refuses the edit (send anew instead)."""
        text = message.text
        media = message.photo is not None or message.document is not None
        if message.image is not None or message.attachment is not None or not text.strip():
            return False
        if utf16_len(text) > (CAPTION_LIMIT if media else TEXT_LIMIT):
            return False
        try:
            if media:
                await calls.edit_caption(chat_id, message_id, text, message.buttons)
            else:
                await calls.edit_text(chat_id, message_id, text, message.buttons)
        except NotifierError as error:
            if error_is_refusal(error):
                return NOT_MODIFIED in error.reason.lower()
            raise
        return True

    @staticmethod
    async def _render(calls: TelegramCalls, chat_id: int, message: Message) -> int:
        text = message.text
        kind: MediaKind = "photo" if message.photo is not None or message.image is not None else "document"
        media: str | bytes | None = message.image or message.photo or message.document
        filename = "chart.png"
        if message.attachment is not None:  # a file made on the server (a PDF receipt, an export)
            media, filename = message.attachment.data, message.attachment.name
        if media is not None:  # a picture drawn on the server (a sales chart) is uploaded, not referenced
            fits = utf16_len(text) <= CAPTION_LIMIT
            caption = text if fits and text.strip() else None
            markup = message.buttons if fits or not text.strip() else ()
            sent = await calls.send_media(chat_id, kind, media, caption, markup, filename=filename)
            if fits or not text.strip():
                return sent
        parts = split_text(text)
        if not parts:
            raise PermanentError("the message has no text")
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent = await calls.send_text(chat_id, part, message.buttons if last else ())
        return sent


class Refused(PermanentError):
    """Telegram's 400 for this request (a wrong file id, a message that cannot be edited...)."""


class RefusedChat(Undeliverable):
    """Telegram's 400 saying the chat cannot be written to (chat not found, no rights)."""


def keyboard_rows(buttons: Keyboard, button: Callable[[Button], T]) -> list[list[T]]:
    """Our buttons as a library's inline keyboard rows (``button`` makes one of its buttons); empty rows dropped."""
    return [[button(b) for b in row] for row in buttons if row]


@asynccontextmanager
async def translating(
    failures: tuple[type[BaseException], ...], translate: Callable[[BaseException], NotifierError]
) -> AsyncIterator[None]:
    """A library's ``failures`` inside the block raised as the relay's errors (``translate``); the relay's own pass."""
    try:
        yield
    except NotifierError:
        raise
    except failures as exc:
        raise translate(exc) from None


def error_is_refusal(error: NotifierError) -> bool:
    """Whether an edit's failure is Telegram refusing that edit (a 400: too old, deleted, not modified...), which
    sending anew answers; not a 403 (blocked: nothing can be sent), a rate limit or an outage."""
    return isinstance(error, Refused | RefusedChat)


def refusal(description: str, reason: str) -> NotifierError:
    """A 400 of Telegram's, as the relay reads it (``reason``: the description made safe to store)."""
    if any(marker in description.lower() for marker in UNREACHABLE):
        return RefusedChat(reason)
    return Refused(reason)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 units: cut at the last line break of a part, else at the last
    space, else hard (never inside a character). Parts that would be blank are dropped."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        fit = _fitting_prefix(rest, limit)
        window = rest[:fit]
        cut = window.rfind("\n")
        if cut < fit // 2:
            cut = window.rfind(" ")
        if cut < fit // 2:  # no good break point in the second half: cut hard
            head, rest = rest[:fit], rest[fit:]
        else:
            head, rest = rest[:cut], rest[cut + 1 :]
        if head.strip():
            parts.append(head)
    if rest.strip():
        parts.append(rest)
    return parts


def _fitting_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)
