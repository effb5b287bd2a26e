"""Bot API calls made as plain JSON through aiogram's HTTP session: the chat's direct replies (a text menu sent or
edited, a button press answered), which every update makes, without aiogram's models on the way out or back.

aiogram turns a call into a pydantic model, the model into a form, and the answer into another model (a whole
``Message`` for a send or an edit); a reply reads nothing of that answer but whether it worked. Here the body is JSON
built from plain values (a keyboard is serialised once per distinct keyboard, :func:`keyboard_json`) and the answer
is read for ``ok`` alone. aiogram stays the transport: the request goes through the bots' shared ``AiohttpSession``
(its connection pool, its API server, its timeout), and a refused call is read by aiogram's own ``check_response``
into the exception aiogram would raise, so callers handle errors exactly as they do for aiogram's calls
(``bot.aiogram.notifier.translate``). Anything beyond one plain text message (photos, documents, long texts split in
parts) goes through :class:`bot.telegram_render.TelegramNotifier`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod

from bot.telegram_render import TEXT_LIMIT, utf16_len
from core.messages import Button, Message
from core.unicode import clean_text

_JSON = {"Content-Type": "application/json"}
Method = type[TelegramMethod[Any]]


def plain_text(message: Message) -> str | None:
    """The text of ``message`` when it goes out as one plain text message (no picture or file, not blank, within
    Telegram's 4096 characters), cleaned of lone surrogates as every send is; None for anything else."""
    if message.photo is not None or message.document is not None or message.image is not None or message.attachment:
        return None
    text = clean_text(message.text)
    if not text.strip() or utf16_len(text) > TEXT_LIMIT:
        return None
    return text


@functools.lru_cache(maxsize=4096)
def keyboard_json(buttons: tuple[tuple[Button, ...], ...]) -> str | None:
    """The inline keyboard of ``buttons`` as the Bot API's ``reply_markup`` JSON; None when there are none. A shop's
    menus are the same from chat to chat (buttons are frozen values, so they key the cache), so each distinct
    keyboard is serialised once; the bound keeps a shop with many products from holding every page forever."""
    rows = [[_button(b) for b in row] for row in buttons if row]
    return json.dumps({"inline_keyboard": rows}, separators=(",", ":")) if rows else None


def _button(button: Button) -> dict[str, str | None]:
    if button.url is not None:
        return {"text": button.text, "url": button.url}
    return {"text": button.text, "callback_data": button.data}


async def send_text(bot: Bot, chat_id: int, text: str, keyboard: str | None) -> None:
    await call(bot, SendMessage, {"chat_id": chat_id, "text": text}, keyboard)


async def edit_text(bot: Bot, chat_id: int, message_id: int, text: str, keyboard: str | None) -> None:
    """Without a keyboard, the message's old one is removed (as Telegram does when ``reply_markup`` is left out)."""
    await call(bot, EditMessageText, {"chat_id": chat_id, "message_id": message_id, "text": text}, keyboard)


async def answer_callback_query(bot: Bot, query_id: str, notice: str | None) -> None:
    fields: dict[str, Any] = {"callback_query_id": query_id}
    if notice:
        fields["text"] = clean_text(notice)
    await call(bot, AnswerCallbackQuery, fields)


async def call(bot: Bot, method: Method, fields: dict[str, Any], keyboard: str | None = None) -> Any:
    """Calls ``method`` with ``fields`` (and ``keyboard``, already JSON) and returns the answer's ``result`` as
    decoded JSON. Raises what aiogram raises for the same call: ``TelegramNetworkError`` for a timeout or a
    connection failure, the ``TelegramAPIError`` that ``check_response`` makes of a refusal."""
    body = json.dumps(fields, separators=(",", ":"))
    if keyboard is not None:
        body = f'{body[:-1]},"reply_markup":{keyboard}}}'
    session = bot.session
    if not isinstance(session, AiohttpSession):  # another transport: through aiogram's models, as any call
        return await bot(_model(method, body))
    http = await session.create_session()
    url = session.api.api_url(token=bot.token, method=method.__api_method__)
    try:
        async with http.post(url, data=body.encode(), headers=_JSON, timeout=_timeout(session.timeout)) as response:
            status, content = response.status, await response.text()
    except TimeoutError as error:
        raise TelegramNetworkError(method=_model(method, body), message="Request timeout error") from error
    except aiohttp.ClientError as error:
        raise TelegramNetworkError(method=_model(method, body), message=f"{type(error).__name__}: {error}") from error
    try:
        answer = json.loads(content)
    except ValueError:
        answer = None
    if status == 200 and isinstance(answer, dict) and answer.get("ok") is True:
        return answer.get("result")
    # A refusal (or an answer that is not the Bot API's): aiogram reads it, so the error is the one it would raise.
    session.check_response(bot, _model(method, body), status, content)
    raise TelegramAPIError(method=_model(method, body), message=f"unexpected answer (HTTP {status})")


def _model(method: Method, body: str) -> TelegramMethod[Any]:
    """The aiogram model of the call: what aiogram's exceptions carry (built only for a failed call)."""
    return method.model_validate(json.loads(body))


@functools.lru_cache(maxsize=8)
def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=seconds)
