"""What a flow receives: one inbound event from one person, free of any transport."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.inline import InlineQuery
from payments.invoices import InvoiceEvent


class Kind(enum.StrEnum):
    COMMAND = "command"
    TEXT = "text"
    BUTTON = "button"
    UPLOAD = "upload"
    CONTACT = "contact"
    INVOICE = "invoice"  # a pre-checkout query or a payment made in the chat (payments.invoices)
    INLINE = "inline"  # "@shopbot words" typed in any chat (core.inline): answered directly, no conversation
    OTHER = "other"  # stickers, voice notes, locations...: things we do not take


class UploadKind(enum.StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    STICKER = "sticker"
    VOICE = "voice"
    VIDEO = "video"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Upload:
    kind: UploadKind
    file_id: str
    file_unique_id: str
    size: int | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    tg_user_id: int
    chat_id: int
    display_name: str
    language: str = ""  # the chat app's language code, as given ("" when none): core.texts.choose_language reads it

    @property
    def private(self) -> bool:
        return self.chat_id == self.tg_user_id


@dataclass(frozen=True, slots=True)
class Inbound:
    kind: Kind
    text: str = ""  # the message text or caption; for commands, the arguments after the command
    command: str | None = None  # "start", without the slash or the bot's @name
    data: str | None = None  # callback data of a pressed button
    upload: Upload | None = None
    contact_phone: str | None = None
    invoice: InvoiceEvent | None = None
    inline: InlineQuery | None = None

    @classmethod
    def cmd(cls, command: str, args: str = "") -> Inbound:
        return cls(Kind.COMMAND, text=args, command=command)

    @classmethod
    def said(cls, words: str) -> Inbound:
        return cls(Kind.TEXT, text=words)

    @classmethod
    def pressed(cls, data: str) -> Inbound:
        return cls(Kind.BUTTON, data=data)

    @classmethod
    def paying(cls, invoice: InvoiceEvent) -> Inbound:
        return cls(Kind.INVOICE, invoice=invoice)

    @classmethod
    def inline_query(cls, query: InlineQuery) -> Inbound:
        return cls(Kind.INLINE, text=query.query, inline=query)
