"""reply_markup validation and a readable view of keyboards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import bad_request

CALLBACK_DATA_MAX_BYTES = 64

# Exactly one of these makes an inline button do something; a button with none is a "text button".
INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES = frozenset({"http", "https", "tg"})


@dataclass(frozen=True)
class InlineButton:
    """One inline keyboard button; `action` names what it does ("callback_data", "url", ...)."""

    text: str
    action: str
    callback_data: str | None = None
    url: str | None = None

    @property
    def target(self) -> str | None:
        """What tests usually assert next to the text: the callback_data or the URL."""
        return self.callback_data if self.action == "callback_data" else self.url


@dataclass(frozen=True)
class Markup:
    """A validated reply_markup.

    `api` is what Telegram echoes back in Message.reply_markup: only inline keyboards are echoed; reply
    keyboards, keyboard removal and force_reply change the user's client and are kept in `client_side`.
    """

    inline: tuple[tuple[InlineButton, ...], ...] = ()
    api: dict[str, Any] | None = None
    client_side: dict[str, Any] | None = None


NO_MARKUP = Markup()


def parse_markup(value: Any, *, inline_only: bool = False) -> Markup:
    """Validates a decoded reply_markup object (None when the parameter was not sent)."""
    if value is None:
        return NO_MARKUP
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        return _parse_inline(value["inline_keyboard"])
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in value:
        _check_reply_keyboard(value["keyboard"])
        return Markup(client_side=value)
    if value.get("remove_keyboard") is True or value.get("force_reply") is True:
        return Markup(client_side=value)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _parse_inline(rows: Any) -> Markup:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard markup JSON object")
    parsed = tuple(tuple(_parse_inline_button(button) for button in row) for row in rows)
    api_rows = [[_button_api(raw) for raw in row] for row in rows]
    return Markup(inline=parsed, api={"inline_keyboard": api_rows})


def _parse_inline_button(raw: Any) -> InlineButton:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    actions = [name for name in INLINE_ACTIONS if raw.get(name) is not None]
    if not actions:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(f"can't parse inline keyboard button: only one of {', '.join(actions)} is allowed")
    action = actions[0]
    if action == "callback_data":
        _check_callback_data(raw["callback_data"])
    if action == "url":
        _check_button_url(raw["url"])
    return InlineButton(raw["text"], action, raw.get("callback_data"), raw.get("url"))


def _check_callback_data(data: Any) -> None:
    if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_MAX_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")


def _check_button_url(url: Any) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in _URL_SCHEMES or not parts.netloc:
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _button_api(raw: dict[str, Any]) -> dict[str, Any]:
    # aiogram already leaves out None fields; other clients may send explicit nulls, which Telegram never echoes.
    return {key: value for key, value in raw.items() if value is not None}


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            text = button if isinstance(button, str) else button.get("text") if isinstance(button, dict) else None
            if not isinstance(text, str) or not text:
                raise bad_request("keyboard button text must be non-empty")


def reply_keyboard_texts(client_side: dict[str, Any]) -> list[list[str]]:
    """Button texts of a reply keyboard, row by row."""
    return [
        [button if isinstance(button, str) else str(button["text"]) for button in row]
        for row in client_side.get("keyboard", [])
    ]
