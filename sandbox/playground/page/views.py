"""What a phone shows, as the templates want it: a bot message (text, photo, document, its buttons), a message the
person sent (from the update the fake Telegram queued), and Safaricom's PIN prompt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.telegram import SentMessage


@dataclass(frozen=True)
class ButtonView:
    text: str
    index: int  # its place in the message, counted over all rows from 0: what a press sends back
    url: str | None  # a link button (a checkout page) opens this instead of pressing


@dataclass(frozen=True)
class MessageView:
    id: int
    mine: bool  # sent by the person holding the phone
    text: str
    photo: str | None = None  # the media route's path of the photo
    document: tuple[str, str] | None = None  # (file name, media path)
    rows: list[list[ButtonView]] = field(default_factory=list)
    edited: bool = False


def bot_message(message: SentMessage) -> MessageView:
    rows: list[list[ButtonView]] = []
    index = 0
    for row in message.markup.inline:
        views = []
        for button in row:
            views.append(ButtonView(button.text, index, button.url if button.action == "url" else None))
            index += 1
        rows.append(views)
    document = None
    if message.document is not None:
        document = (message.document.file_name or "file", f"media/{message.document.file_id}")
    return MessageView(
        id=message.message_id,
        mine=False,
        text=message.content,
        photo=f"media/{message.photo.file_id}" if message.photo is not None else None,
        document=document,
        rows=rows,
        edited=message.edit_date is not None,
    )


def sent_message(message: dict[str, Any]) -> MessageView:
    """A message the person sent, from its update."""
    photo = message.get("photo")
    document = message.get("document")
    return MessageView(
        id=int(message["message_id"]),
        mine=True,
        text=str(message.get("text") or message.get("caption") or ""),
        photo=f"media/{photo[-1]['file_id']}" if photo else None,
        document=(str(document.get("file_name") or "file"), f"media/{document['file_id']}") if document else None,
    )


@dataclass(frozen=True)
class PromptView:
    """The STK prompt as Safaricom's SIM toolkit shows it."""

    checkout: str
    amount: str  # "KES 1,500"
    business: str  # "DEMO DUKA"
    seconds: int  # how long the prompt waits for a PIN
    pin: str  # the sandbox PIN, told on the page


def shillings(amount: int) -> str:
    return f"KES {amount:,}"
