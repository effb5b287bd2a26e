"""The HTTP face of the fake: the Bot API and file download routes, and a real server to point bots at."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from .errors import ApiError, not_found, too_large
from .fake import FakeTelegram
from .methods import Described
from .params import read_request

if TYPE_CHECKING:
    from aiogram.client.telegram import TelegramAPIServer

FAKE_KEY = web.AppKey("fake_telegram", FakeTelegram)

# Bots may upload files of up to 50 MB; leave room for the rest of the multipart body.
MAX_REQUEST_BYTES = 52 * 1024 * 1024


def create_app(fake: FakeTelegram | None = None) -> web.Application:
    """An aiohttp application serving `fake` (a new, empty one by default) at Telegram's URLs.

    Shutting the application down releases waiting getUpdates calls and stops webhook delivery.
    """
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[FAKE_KEY] = fake if fake is not None else FakeTelegram()
    app.router.add_route("GET", "/bot{token}/{method}", _handle_method)
    app.router.add_route("POST", "/bot{token}/{method}", _handle_method)
    # Telegram's test environment (Stars that cost nothing): the same methods under /test/, counted apart.
    app.router.add_route("POST", "/bot{token}/test/{method}", _handle_test_method)
    app.router.add_get("/file/bot{token}/{file_path:.+}", _handle_file)
    app.on_shutdown.append(_shutdown_fake)
    return app


async def _handle_method(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    try:
        account = fake.authenticate(request.match_info["token"])
        params = await read_request(request)
        result = await fake.call(account, request.match_info["method"], params)
    except ApiError as error:
        return _error(error)
    except web.HTTPRequestEntityTooLarge:
        return _error(too_large())
    body: dict[str, Any] = {"ok": True, "result": result}
    if isinstance(result, Described):
        body = {"ok": True, "result": result.result, "description": result.description}
    return web.json_response(body)


async def _handle_test_method(request: web.Request) -> web.Response:
    request.app[FAKE_KEY].test_environment_calls.append(request.match_info["method"])
    return await _handle_method(request)


async def _handle_file(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    try:
        account = fake.authenticate(request.match_info["token"])
    except ApiError as error:
        return _error(error)
    stored = account.file_by_path(request.match_info["file_path"])
    if stored is None:
        return _error(not_found())
    content_type = stored.mime_type or "application/octet-stream"
    return web.Response(body=stored.data, content_type=content_type)


def _error(error: ApiError) -> web.Response:
    return web.json_response(error.envelope(), status=error.error_code)


async def _shutdown_fake(app: web.Application) -> None:
    await app[FAKE_KEY].shutdown()


class FakeTelegramServer:
    """The fake on a real socket, for aiogram bots, the playground, or anything that speaks HTTP.

    ``async with FakeTelegramServer() as server:`` then point a bot at ``server.base_url`` (or use
    ``server.api``, a ready aiogram TelegramAPIServer). Port 0 picks a free port.
    """

    def __init__(self, fake: FakeTelegram | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake if fake is not None else FakeTelegram()
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the server is not running; use `async with` or start()")
        return f"http://{self.host}:{self.port}"

    @property
    def api(self) -> TelegramAPIServer:
        """The server as aiogram's `AiohttpSession(api=...)` expects it."""
        # Imported here: importing aiogram builds all its models (seconds), which users of the fake alone skip.
        from aiogram.client.telegram import TelegramAPIServer

        return TelegramAPIServer.from_base(self.base_url)

    async def start(self) -> None:
        # A short shutdown_timeout: handlers still running at shutdown are only long polls, released anyway.
        runner = web.AppRunner(create_app(self.fake), shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
