"""Reading a Telegram update, whatever library builds its models: the screening of a webhook body (what Telegram
could not have sent is refused before any library sees it), and the update read into a flow input (who is speaking,
in which chat, what they did).

aiogram's models and python-telegram-bot's both mirror the Bot API, field for field, so :func:`read` takes either:
the protocols below name the fields it reads. Each library's ``updates`` module builds its own models (its parser)
and hands them here. Reading a new kind of update (a payment update) is one branch of :func:`read` and its fields
in the protocols, for both libraries at once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from bot.channel import Incoming
from core.inline import OFFSET_BYTES, QUERY_LIMIT, InlineQuery
from core.unicode import clean_text
from flows.inbound import Actor, Inbound, Kind, Upload, UploadKind
from payments.invoices import InvoiceEvent, InvoiceStage

# Every integer of the Bot API fits in a signed 64-bit column; Telegram's updates nest a dozen levels at most.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 64


class Unreadable(ValueError):
    """The body holds what no Telegram update holds."""


def screened_body(body: bytes) -> dict[str, Any]:
    """The decoded JSON of a webhook body with its texts cleaned, and a pressed button's message stripped of what is
    never read; raises :class:`Unreadable` (a ``ValueError``) for JSON Telegram could not have sent (not an object
    with an integer ``update_id``, NaN, nested too deep, an integer outside 64 bits) and ``ValueError`` for what is
    not JSON. Libraries differ in what they let through (aiogram reads ``true`` as 1, PTB checks no type), so the
    update's identity is checked here, for all of them."""
    try:
        data = json.loads(body, parse_constant=_no_constant)
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            raise Unreadable
        screened: dict[str, Any] = unread_parts_dropped(_screened(data, 0))
        return screened
    except RecursionError:
        raise Unreadable from None


def unread_parts_dropped(data: Any) -> Any:
    """A button press carries the bot's own message back, keyboard and all: only its chat and id are read (to edit
    it), so its keyboard and formatting are not built into models (most of a press's parsing). Screened already."""
    query = data.get("callback_query") if isinstance(data, dict) else None
    message = query.get("message") if isinstance(query, dict) else None
    if isinstance(message, dict):
        for unread in UNREAD_OF_PRESSED_MESSAGE:
            message.pop(unread, None)
    return data


UNREAD_OF_PRESSED_MESSAGE = ("reply_markup", "entities", "caption_entities")


def _no_constant(name: str) -> Any:
    raise Unreadable  # NaN and Infinity are not JSON


def _screened(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise Unreadable
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise Unreadable
        return value
    if isinstance(value, list):
        return [_screened(item, depth + 1) for item in value]
    return {clean_text(key): _screened(item, depth + 1) for key, item in value.items()}


def actor(
    user_id: int,
    chat_id: int,
    first_name: str | None,
    last_name: str | None,
    username: str | None,
    language_code: str | None,
) -> Actor:
    name = " ".join(part for part in (first_name, last_name) if part) or (username or "")
    # Any code: one dukabot does not speak falls back to the shop's language (FlowContext.settle_language).
    language = (language_code or "").split("-")[0].lower()[:8]
    return Actor(tg_user_id=user_id, chat_id=chat_id, display_name=clean_text(name)[:120], language=language)


def typed(text: str) -> Inbound:
    """A typed line: a command ("/start@shop_bot args") or words."""
    said = clean_text(text)
    words = said.strip()
    if words.startswith("/"):
        head, _, args = words.partition(" ")
        command = head[1:].split("@", 1)[0].lower()
        return Inbound.cmd(command, args.strip())
    return Inbound.said(said)


# The fields read, as both libraries name them.


class UserFields(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def language_code(self) -> str | None: ...


class ChatFields(Protocol):
    @property
    def id(self) -> int: ...


class FileFields(Protocol):
    @property
    def file_id(self) -> str: ...
    @property
    def file_unique_id(self) -> str: ...
    @property
    def file_size(self) -> int | None: ...


class PhotoFields(FileFields, Protocol):
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


class DocumentFields(FileFields, Protocol):
    @property
    def mime_type(self) -> str | None: ...


class ContactFields(Protocol):
    @property
    def phone_number(self) -> str: ...


class InvoiceFields(Protocol):
    """What a pre-checkout query and a successful payment both say of the invoice."""

    @property
    def currency(self) -> str: ...
    @property
    def total_amount(self) -> int: ...
    @property
    def invoice_payload(self) -> str: ...


class SuccessfulPaymentFields(InvoiceFields, Protocol):
    @property
    def telegram_payment_charge_id(self) -> str: ...
    @property
    def provider_payment_charge_id(self) -> str: ...


class PreCheckoutFields(InvoiceFields, Protocol):
    @property
    def id(self) -> str: ...
    @property
    def from_user(self) -> UserFields: ...


class MessageFields(Protocol):
    @property
    def message_id(self) -> int: ...
    @property
    def chat(self) -> ChatFields: ...
    @property
    def from_user(self) -> UserFields | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def caption(self) -> str | None: ...
    @property
    def contact(self) -> ContactFields | None: ...
    @property
    def photo(self) -> Sequence[PhotoFields] | None: ...
    @property
    def document(self) -> DocumentFields | None: ...
    @property
    def sticker(self) -> FileFields | None: ...
    @property
    def voice(self) -> FileFields | None: ...
    @property
    def video(self) -> FileFields | None: ...
    @property
    def successful_payment(self) -> SuccessfulPaymentFields | None: ...


class PressedMessageFields(Protocol):
    @property
    def message_id(self) -> int: ...
    @property
    def chat(self) -> ChatFields: ...


class QueryFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def from_user(self) -> UserFields: ...
    @property
    def data(self) -> str | None: ...
    @property
    def message(self) -> PressedMessageFields | None: ...


class InlineQueryFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def from_user(self) -> UserFields: ...
    @property
    def query(self) -> str: ...
    @property
    def offset(self) -> str: ...


class UpdateFields(Protocol):
    @property
    def update_id(self) -> int: ...
    @property
    def message(self) -> MessageFields | None: ...
    @property
    def callback_query(self) -> QueryFields | None: ...
    @property
    def pre_checkout_query(self) -> PreCheckoutFields | None: ...
    @property
    def inline_query(self) -> InlineQueryFields | None: ...


def read(update: UpdateFields) -> Incoming | None:
    """None for updates dukabot does not act on (edited messages, channel posts, chat member changes...)."""
    paying = read_invoice(update)
    if paying is not None:
        return paying
    if update.message is not None and update.message.from_user is not None:
        return Incoming(_actor(update.message.from_user, update.message.chat.id), _from_message(update.message))
    if update.callback_query is not None:
        return _from_callback(update.callback_query)
    if update.inline_query is not None:
        return read_inline(update.inline_query)
    return None


def read_inline(query: InlineQueryFields) -> Incoming:
    """``@shopbot words`` typed in any chat: who asks (their own chat's id: the query has none), the words and the
    page asked for, cut to what Telegram sends (a longer query or offset was never Telegram's)."""
    asked = InlineQuery(
        clean_text(query.id), clean_text(query.query)[:QUERY_LIMIT], clean_text(query.offset)[:OFFSET_BYTES]
    )
    return Incoming(_actor(query.from_user, query.from_user.id), Inbound.inline_query(asked))


def _actor(user: UserFields, chat_id: int) -> Actor:
    return actor(user.id, chat_id, user.first_name, user.last_name, user.username, user.language_code)


def _from_callback(query: QueryFields) -> Incoming:
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    message_id = message.message_id if message is not None else None
    return Incoming(
        _actor(query.from_user, chat_id), Inbound.pressed(clean_text(query.data or "")), query.id, message_id
    )


def _from_message(message: MessageFields) -> Inbound:
    caption = clean_text(message.caption or "")
    if message.text is not None:
        return typed(message.text)
    if message.contact is not None:
        return Inbound(Kind.CONTACT, contact_phone=message.contact.phone_number)
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        upload = Upload(UploadKind.PHOTO, largest.file_id, largest.file_unique_id, largest.file_size, "image/jpeg")
        return Inbound(Kind.UPLOAD, text=caption, upload=upload)
    if message.document is not None:
        doc = message.document
        upload = Upload(UploadKind.DOCUMENT, doc.file_id, doc.file_unique_id, doc.file_size, doc.mime_type)
        return Inbound(Kind.UPLOAD, text=caption, upload=upload)
    for kind, media in (
        (UploadKind.STICKER, message.sticker),
        (UploadKind.VOICE, message.voice),
        (UploadKind.VIDEO, message.video),
    ):
        if media is not None:
            upload = Upload(kind, media.file_id, media.file_unique_id, media.file_size)
            return Inbound(Kind.UPLOAD, text=caption, upload=upload)
    return Inbound(Kind.OTHER)


def read_invoice(update: UpdateFields) -> Incoming | None:
    """A pre-checkout query or a payment made in the chat (Telegram's native invoices), as the flows read them;
    None for any other update. A pre-checkout query comes from the customer's private chat, whose id is theirs."""
    query = update.pre_checkout_query
    if query is not None:
        asked = InvoiceEvent(
            InvoiceStage.PRE_CHECKOUT,
            clean_text(query.invoice_payload),
            clean_text(query.currency).upper(),
            query.total_amount,
            query_id=query.id,
        )
        return Incoming(_actor(query.from_user, query.from_user.id), Inbound.paying(asked))
    message = update.message
    paid = message.successful_payment if message is not None else None
    if message is None or paid is None or message.from_user is None:
        return None
    made = InvoiceEvent(
        InvoiceStage.PAID,
        clean_text(paid.invoice_payload),
        clean_text(paid.currency).upper(),
        paid.total_amount,
        charge_id=clean_text(paid.telegram_payment_charge_id),
        provider_charge_id=clean_text(paid.provider_payment_charge_id),
    )
    return Incoming(_actor(message.from_user, message.chat.id), Inbound.paying(made))
