"""aiogram's own webhook echo bot, one per shop, replying over HTTP to the same fake Bot API dukabot talks to.

Each shop's bot is served by aiogram 3's ``SimpleRequestHandler`` at ``/tg/{slug}`` with the shop's secret token,
one ``Dispatcher`` for all. ``handle_in_background=False``: the webhook is answered after the handler is done, as
dukabot answers after its reply, so both sides do the same work per request. A message is echoed with
``sendMessage``; a button press is answered (``answerCallbackQuery``) and its message edited (``editMessageText``),
the calls dukabot makes for a press.

``python -m bench.baselines.echo PORT TELEGRAM_API SHOPS_JSON`` (``[[slug, token, secret], ...]``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

router = Router()


@router.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?")


@router.callback_query()
async def pressed(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(f"You pressed {query.data}")


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    port, api, shops_file = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    server = TelegramAPIServer.from_base(api)
    bots = []
    for slug, token, secret in json.loads(shops_file.read_text()):
        bot = Bot(token, session=AiohttpSession(api=server))
        bots.append(bot)
        handler = SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret)
        handler.register(app, path=f"/tg/{slug}")

    async def close(_: web.Application) -> None:
        for bot in bots:
            await bot.session.close()

    app.on_cleanup.append(close)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
