"""The page's own aiohttp server: the page (Jinja2), its script and style, the event stream, the files the phones
show, and the visitor's actions. It outlives the shops behind it: "reset shop" closes the shop and opens a fresh one,
and the browsers reload."""

from __future__ import annotations

import asyncio
import os
import sys
import webbrowser
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jinja2
from aiohttp import web

from core.settings import Settings
from sandbox.playground.page.hub import Hub
from sandbox.playground.page.prompts import SANDBOX_PIN, Prompts
from sandbox.playground.page.session import Session
from sandbox.playground.page.underneath import Underneath
from sandbox.playground.page.views import MessageView, PromptView
from sandbox.playground.shop import DEMO_TOKEN, DemoMarket, open_shop
from sandbox.telegram.account import bot_id_from_token
from webhooks.ports import free_port, in_use

HERE = Path(__file__).parent
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a receipt photo or a PDF, well within what Telegram takes from a person
ACTION_HEADER = "X-Playground"  # set by the page's script: a form on another site cannot send it


@dataclass
class Page:
    """The server's state: the hub every browser listens to, and the session of the shop running now."""

    hub: Hub
    templates: jinja2.Environment
    session: Session | None = None
    reset_asked: asyncio.Event = field(default_factory=asyncio.Event)

    def message_html(self, view: MessageView) -> str:
        return self.templates.get_template("message.html").render(message=view)

    def prompt_html(self, view: PromptView) -> str:
        return self.templates.get_template("prompt.html").render(prompt=view)


PAGE = web.AppKey("playground_page", Page)


def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )


def build_page_app(page: Page) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES, middlewares=[_actions_from_the_page])
    app[PAGE] = page
    app.router.add_get("/", _index)
    app.router.add_get("/events", _events)
    app.router.add_static("/static", HERE / "static")
    app.router.add_get("/media/{file_id}", _media)
    app.router.add_post("/phones", _add_phone)
    app.router.add_post("/phones/{key}/send", _send)
    app.router.add_post("/phones/{key}/press", _press)
    app.router.add_post("/phones/{key}/upload", _upload)
    app.router.add_post("/prompts/{checkout}", _prompt)
    app.router.add_post("/test-mode", _test_mode)
    app.router.add_post("/clock", _clock)
    app.router.add_post("/reset", _reset)

    async def close_streams(app: web.Application) -> None:
        app[PAGE].hub.close()

    app.on_shutdown.append(close_streams)
    return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _actions_from_the_page(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "POST" and request.headers.get(ACTION_HEADER) != "1":
        raise web.HTTPForbidden(text="actions come from the playground's page")
    return await handler(request)


def _session(request: web.Request) -> Session:
    session = request.app[PAGE].session
    if session is None:
        raise web.HTTPServiceUnavailable(text="the shop is starting; try again in a moment")
    return session


def _phone(request: web.Request) -> tuple[Session, str]:
    session, key = _session(request), request.match_info["key"]
    if key not in session.phones:
        raise web.HTTPNotFound(text=f"no phone {key!r}")
    return session, key


def _refused(problem: str | None) -> web.Response:
    return web.Response(status=204) if problem is None else web.Response(status=409, text=problem)


async def _events(request: web.Request) -> web.StreamResponse:
    return await request.app[PAGE].hub.stream(request)


async def _index(request: web.Request) -> web.Response:
    page = request.app[PAGE]
    body = page.templates.get_template("page.html").render(pin=SANDBOX_PIN)
    return web.Response(text=body, content_type="text/html")


async def _media(request: web.Request) -> web.Response:
    stored = _session(request).shop.bot.files.get(request.match_info["file_id"])
    if stored is None:
        raise web.HTTPNotFound(text="no such file")
    kind = stored.mime_type or ("image/png" if stored.data.startswith(b"\x89PNG") else "application/octet-stream")
    if stored.kind == "photo" and stored.data.startswith(b"\xff\xd8"):
        kind = "image/jpeg"
    disposition = f'inline; filename="{Path(stored.file_name or stored.file_path).name}"'
    return web.Response(body=stored.data, content_type=kind, headers={"Content-Disposition": disposition})


async def _add_phone(request: web.Request) -> web.Response:
    key = await _session(request).add_customer()
    return web.json_response({"phone": key})


async def _send(request: web.Request) -> web.Response:
    session, key = _phone(request)
    text = str((await request.post()).get("text", "")).strip()
    if not text:
        return web.Response(status=400, text="Type a message first.")
    await session.send_text(key, text)
    return web.Response(status=204)


async def _press(request: web.Request) -> web.Response:
    session, key = _phone(request)
    form = await request.post()
    message, index = str(form.get("message", "")), str(form.get("button", ""))
    if not (message.isdecimal() and index.isdecimal()):
        return web.Response(status=400, text="message and button are numbers")
    return _refused(await session.press(key, int(message), int(index)))


async def _upload(request: web.Request) -> web.Response:
    session, key = _phone(request)
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return web.Response(status=400, text="Choose a file first.")
    caption = str(form.get("caption", "")).strip() or None
    data = upload.file.read()
    await session.upload(key, upload.filename, upload.content_type, data, caption)
    return web.Response(status=204)


async def _prompt(request: web.Request) -> web.Response:
    session = _session(request)
    form = await request.post()
    action = str(form.get("action", ""))
    if action not in ("pin", "cancel"):
        return web.Response(status=400, text="action is pin or cancel")
    problem = await session.prompts.answer(request.match_info["checkout"], action, str(form.get("pin", "")).strip())
    return _refused(problem)


async def _test_mode(request: web.Request) -> web.Response:
    session = _session(request)
    turn_on = str((await request.post()).get("on", "")) == "1"
    session.spawn(session.set_test_mode(turn_on))
    return web.Response(status=204)


async def _clock(request: web.Request) -> web.Response:
    _session(request).skip_minute()
    return web.Response(status=204)


async def _reset(request: web.Request) -> web.Response:
    request.app[PAGE].reset_asked.set()
    return web.Response(status=204)


def page_port(host: str, shop_port: int) -> int:
    """The port after the shop's when it is free (an address easy to remember), else any free one."""
    wanted = shop_port + 1
    return wanted if 0 < wanted < 65536 and not in_use(host, wanted) else free_port(host)


def open_browser(url: str) -> None:
    """Only where a person can see it: a desktop session, or macOS and Windows."""
    if sys.platform in ("darwin", "win32") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        webbrowser.open(url)


@asynccontextmanager
async def running_shop(
    settings: Settings,
    port: int | None,
    page: Page,
    *,
    keep: bool,
    chat_interval: float = 1.0,
    market: DemoMarket | None = None,
) -> AsyncIterator[Session]:
    """A fresh shop for the page: its provider client and its application watched for the side panel, Daraja's
    pushes turned into prompts on the phones, and the merchant and the customer already greeted by the bot."""
    underneath = Underneath(page.hub, bot_id_from_token(DEMO_TOKEN), {})
    prompts = Prompts(page.hub, page.prompt_html)
    hooks = underneath.http_hooks()
    hooks["response"].append(prompts.on_response)
    http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), event_hooks=hooks)

    def watch_callbacks(app: web.Application) -> None:
        app.middlewares.append(underneath.observe_callbacks)

    try:
        async with open_shop(
            settings, port, keep=keep, http=http, on_app=watch_callbacks, chat_interval=chat_interval, market=market
        ) as shop:
            session = Session(shop, page.hub, underneath, prompts, page.message_html)
            try:
                await session.start()
                page.session = session
                yield session
            finally:
                page.session = None
                await session.close()
    finally:
        await prompts.close()


async def serve_page(
    settings: Settings,
    port: int | None,
    keep: bool,
    *,
    page_port_number: int | None = None,
    started: Callable[[str, Session], None] | None = None,
    stop: asyncio.Event | None = None,
    chat_interval: float = 1.0,
    market: DemoMarket | None = None,
) -> None:
    """The page and the shop behind it, until ``stop`` is set (or the process is interrupted). ``started`` is told
    the page's URL once the shop is ready (by default it is printed, and a browser opened where there is a screen).
    ``chat_interval``: see :func:`~sandbox.playground.shop.open_shop` (tests shorten it)."""
    page = Page(Hub(), templates())
    runner = web.AppRunner(build_page_app(page), shutdown_timeout=1.0)
    await runner.setup()
    shop_port = settings.port if port is None else port
    chosen = page_port(settings.host, shop_port) if page_port_number is None else page_port_number
    stopping = stop or asyncio.Event()
    try:
        await web.TCPSite(runner, settings.host, chosen).start()
        url = f"http://{settings.host}:{runner.addresses[0][1]}/"
        first = True
        while not stopping.is_set():
            async with running_shop(
                settings, port, page, keep=keep and first, chat_interval=chat_interval, market=market
            ) as session:
                if first:
                    (started or _announce)(url, session)
                    first = False
                await _first_of(page.reset_asked, stopping)
            page.reset_asked.clear()
            if not stopping.is_set():
                page.hub.reset()  # the browsers reload, onto the new shop
    finally:
        await runner.cleanup()


async def _first_of(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


def _announce(url: str, session: Session) -> None:
    print(f"dukabot playground: the demo shop's server runs on {session.shop.url}")
    print(f"Open the playground in a browser: {url}  (Ctrl-C stops it; --terminal gives the terminal chat)")
    open_browser(url)
