"""answerInlineQuery, checked the way the Bot API documents it: at most 50 results, each with an id of 1-64 bytes
unique in the answer, a title and a message to post; next_offset at most 64 bytes; one answer per query. Articles
only: the results dukabot sends (the user's side is :mod:`sandbox.telegram.inline`)."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from ..inline import InlineShown
from ..markup import parse_markup
from .registry import Call, method

MAX_RESULTS = 50
ID_BYTES = 64
OFFSET_BYTES = 64
TEXT_LIMIT = 4096


@method("answerInlineQuery")
async def answer_inline_query(call: Call) -> Any:
    params = call.params
    asked = call.bot.inline_queries.get(params.string("inline_query_id") or "")
    if asked is None or asked.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    results = params.json("results", "results")
    if not isinstance(results, list):
        raise bad_request("can't parse results JSON object")
    if len(results) > MAX_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    next_offset = params.string("next_offset") or ""
    if len(next_offset.encode()) > OFFSET_BYTES:
        raise bad_request("NEXT_OFFSET_INVALID")
    shown = [_article(result) for result in results]
    if len({result.id for result in shown}) != len(shown):
        raise bad_request("RESULT_ID_DUPLICATE")
    asked.answered, asked.results, asked.next_offset = True, shown, next_offset
    asked.cache_time = params.integer("cache_time") or 300
    asked.is_personal = params.boolean("is_personal")
    call.bot.notify()
    return True


def _article(raw: Any) -> InlineShown:
    if not isinstance(raw, dict) or raw.get("type") != "article":
        raise bad_request("RESULT_TYPE_INVALID")
    result_id = raw.get("id")
    if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= ID_BYTES:
        raise bad_request("RESULT_ID_INVALID")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise bad_request("RESULT_TITLE_EMPTY")
    content = raw.get("input_message_content")
    message_text = content.get("message_text") if isinstance(content, dict) else None
    if not isinstance(message_text, str) or not message_text.strip():
        raise bad_request("MESSAGE_EMPTY")
    if len(message_text) > TEXT_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    markup = parse_markup(raw.get("reply_markup"), inline_only=True)
    description = raw.get("description")
    thumbnail = raw.get("thumbnail_url")
    return InlineShown(
        result_id,
        title,
        description if isinstance(description, str) else None,
        message_text,
        markup.inline,
        thumbnail if isinstance(thumbnail, str) else None,
    )
