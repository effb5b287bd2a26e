"""Chat messages as plain data: what flows return and what the outbox stores. No transport knows about them
until the bot layer renders them into Bot API calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str | None = None  # callback_data, at most 64 bytes
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button has either callback data or a URL")
        if self.data is not None and not 1 <= len(self.data.encode()) <= 64:
            raise ValueError(f"callback data must be 1-64 bytes: {self.data!r}")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file made on the server (a PDF receipt, an export), uploaded as a document under ``name``."""

    name: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: str | None = None  # a URL or a Telegram file_id; the text becomes the caption
    document: str | None = None  # a Telegram file_id
    edit: bool = False  # replace the message whose button was pressed, instead of sending a new one
    # For outbox rows: the dedupe key of an earlier outbox row to the same chat that this message takes the place of.
    # The relay edits that row's Telegram message into this one when it can, and sends this one as new when it
    # cannot (not sent yet, unknown, too old to edit); an earlier row still unsent is then never sent.
    replaces: str | None = None
    # Raw image bytes (a PNG chart drawn on the server), sent as a photo. For direct replies only: outbox payloads
    # stay JSON and never carry it.
    image: bytes | None = field(default=None, repr=False)
    # A file made on the server, sent as a document with the text as its caption. For direct replies only, as
    # ``image`` is.
    attachment: Attachment | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # For outbox rows: the language its reader reads, when its writer knows it, for the words the relay adds itself
    # (``outbox.as_repeat``); None: the default language.
    language: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text,
            "buttons": [[_button_payload(b) for b in row] for row in self.buttons],
            "photo": self.photo,
            "document": self.document,
        }
        if self.replaces is not None:
            payload["replaces"] = self.replaces
        if self.language is not None:
            payload["language"] = self.language
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Message:
        rows = tuple(
            tuple(Button(text=b["text"], data=b.get("data"), url=b.get("url")) for b in row)
            for row in payload.get("buttons", [])
        )
        replaces = payload.get("replaces")
        if replaces is not None and not isinstance(replaces, str):
            raise TypeError("replaces must be a dedupe key")
        language = payload.get("language")
        return cls(
            text=payload["text"],
            buttons=rows,
            photo=payload.get("photo"),
            document=payload.get("document"),
            replaces=replaces,
            language=language if isinstance(language, str) else None,
        )


def _button_payload(button: Button) -> dict[str, str]:
    if button.url is not None:
        return {"text": button.text, "url": button.url}
    assert button.data is not None
    return {"text": button.text, "data": button.data}


def keyboard(*rows: list[Button] | tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(row) for row in rows if row)
