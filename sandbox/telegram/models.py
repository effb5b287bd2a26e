"""What the fake remembers, and how each record looks as a Bot API object.

Records are plain dataclasses so tests can read them directly; treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .markup import NO_MARKUP, InlineButton, Markup, reply_keyboard_texts

ChatType = Literal["private", "group", "supergroup"]
FileKind = Literal["photo", "document", "sticker", "voice"]

# The fake does not decode images; every photo claims these dimensions.
PHOTO_WIDTH, PHOTO_HEIGHT = 1280, 960


@dataclass(frozen=True)
class UserInfo:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        optional = {"last_name": self.last_name, "username": self.username, "language_code": self.language_code}
        user.update({key: value for key, value in optional.items() if value is not None})
        return user


@dataclass(frozen=True)
class ChatInfo:
    id: int
    type: ChatType
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    title: str | None = None

    @classmethod
    def private(cls, user: UserInfo) -> ChatInfo:
        return cls(user.id, "private", user.first_name, user.last_name, user.username)

    def to_api(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        optional = {
            "title": self.title,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
        }
        chat.update({key: value for key, value in optional.items() if value is not None})
        return chat


@dataclass(frozen=True)
class StoredFile:
    """A file Telegram holds for one bot. `data` may be shorter than `size` when a test declared a size."""

    file_id: str
    file_unique_id: str
    kind: FileKind
    file_path: str
    size: int
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    source_url: str | None = None

    def _ids(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": self.size}

    def to_photo_sizes(self) -> list[dict[str, Any]]:
        # Telegram lists several sizes; the fake keeps the one it was given.
        return [{**self._ids(), "width": PHOTO_WIDTH, "height": PHOTO_HEIGHT}]

    def to_document(self) -> dict[str, Any]:
        document = self._ids()
        if self.file_name is not None:
            document["file_name"] = self.file_name
        if self.mime_type is not None:
            document["mime_type"] = self.mime_type
        return document

    def to_sticker(self) -> dict[str, Any]:
        return {
            **self._ids(),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }

    def to_voice(self, duration: int) -> dict[str, Any]:
        return {**self._ids(), "duration": duration, "mime_type": self.mime_type or "audio/ogg"}

    def to_file(self) -> dict[str, Any]:
        return {**self._ids(), "file_path": self.file_path}


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent, in its current state: edits are applied in place and deletion sets `deleted`."""

    message_id: int
    chat: ChatInfo
    sender: UserInfo
    date: int
    revision: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    photo: StoredFile | None = None
    document: StoredFile | None = None
    markup: Markup = NO_MARKUP
    edit_date: int | None = None
    deleted: bool = False
    invoice: dict[str, Any] | None = None  # an Invoice (sendInvoice); its payload is the bot's (stars.StarsLedger)

    @property
    def content(self) -> str:
        """The text, or the caption of a media message, or what an invoice shows ("" when there is none of them)."""
        if self.invoice is not None:
            shown = self.invoice
            return f"🧾 {shown['title']}: {shown['description']} ({shown['total_amount']} {shown['currency']})"
        return self.text if self.text is not None else self.caption or ""

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard as rows of (text, callback_data or URL)."""
        return [[(button.text, button.target) for button in row] for row in self.markup.inline]

    @property
    def inline_buttons(self) -> list[InlineButton]:
        return [button for row in self.markup.inline for button in row]

    def button(self, text: str) -> InlineButton:
        for button in self.inline_buttons:
            if button.text == text:
                return button
        raise LookupError(f"message {self.message_id} has no inline button {text!r}; it has {self.buttons}")

    @property
    def keyboard(self) -> list[list[str]] | None:
        """The reply keyboard this message showed, as rows of button texts (None if it showed none)."""
        client_side = self.markup.client_side
        if client_side is None or "keyboard" not in client_side:
            return None
        return reply_keyboard_texts(client_side)

    @property
    def removes_keyboard(self) -> bool:
        return bool(self.markup.client_side and self.markup.client_side.get("remove_keyboard"))

    def to_api(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.text is not None:
            message["text"] = self.text
            _put_entities(message, "entities", self.entities)
        if self.photo is not None:
            message["photo"] = self.photo.to_photo_sizes()
        if self.document is not None:
            message["document"] = self.document.to_document()
        if self.caption is not None:
            message["caption"] = self.caption
            _put_entities(message, "caption_entities", self.caption_entities)
        if self.invoice is not None:
            message["invoice"] = self.invoice
        if self.markup.api is not None:
            message["reply_markup"] = self.markup.api
        return message

    def __repr__(self) -> str:
        kind = "photo" if self.photo else "document" if self.document else "text"
        return f"<SentMessage {self.message_id} in {self.chat.id} {kind} {self.content!r} buttons={self.buttons}>"


def _put_entities(message: dict[str, Any], key: str, entities: list[dict[str, Any]]) -> None:
    if entities:
        message[key] = entities


@dataclass(frozen=True)
class CallbackPress:
    """A callback_query a fake user sent by pressing a button."""

    query_id: str
    data: str
    message_id: int
    update: dict[str, Any]


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery for a press."""

    query_id: str
    chat_id: int
    data: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class ChatAction:
    chat_id: int
    action: str
    at: float


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of an update to the webhook; `status` is None when no HTTP answer came back."""

    status: int | None
    error: str | None = None


@dataclass
class WebhookDelivery:
    """Every attempt to deliver one update to the bot's webhook."""

    update_id: int
    url: str
    update: dict[str, Any]
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    finished: bool = False

    @property
    def statuses(self) -> list[int | None]:
        return [attempt.status for attempt in self.attempts]

    @property
    def delivered(self) -> bool:
        status = self.attempts[-1].status if self.attempts else None
        return status is not None and 200 <= status < 300


@dataclass
class ApiCall:
    """One Bot API request as the fake saw it; `error_code` is None when it succeeded."""

    bot_id: int
    method: str
    params: dict[str, Any]
    at: float
    error_code: int | None = None
