"""A message's content as sending and editing methods read it from their parameters: text or caption with its
entities (parse_mode applied, Telegram's length limits checked) and the reply markup."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from ..formatting import parse_formatted
from ..markup import Markup, parse_markup
from ..params import Params

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def read_text(params: Params) -> tuple[str, list[dict[str, Any]]]:
    text, entities = read_formatted(params, "text", "entities")
    if text is None or not text.strip():
        raise bad_request("message text is empty")
    if len(text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    return text, entities


def read_caption(params: Params) -> tuple[str | None, list[dict[str, Any]]]:
    caption, entities = read_formatted(params, "caption", "caption_entities")
    if caption is not None and len(caption) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return caption or None, entities


def read_formatted(params: Params, field: str, entities_field: str) -> tuple[str | None, list[dict[str, Any]]]:
    """Text after parse_mode is applied; explicit entities replace parse_mode, as in Telegram."""
    raw = params.string(field)
    if raw is None:
        return None, []
    explicit = params.json(entities_field, "entities")
    if explicit is not None:
        if not isinstance(explicit, list):
            raise bad_request("can't parse entities JSON object")
        return raw, explicit
    return parse_formatted(raw, params.string("parse_mode"))


def read_markup(params: Params, *, inline_only: bool = False) -> Markup:
    return parse_markup(params.json("reply_markup", "reply keyboard markup"), inline_only=inline_only)
