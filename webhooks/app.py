"""The aiohttp application, built by a function: routes, health, metrics, and the background workers that live
and die with it (the outbox relay, and long polling when there is no public URL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy import text

from bot.polling import Poller
from core.db.migrate import is_current
from webhooks import routes_mpesa, routes_paystack
from webhooks.edge import HANDLER_ARGS, screen_requests
from webhooks.keys import RUNTIME
from webhooks.runtime import Runtime
from webhooks.telegram import telegram_update

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024  # Telegram updates and provider callbacks are small; refuse anything bigger


def build_app(runtime: Runtime, *, workers: bool = True) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, handler_args=HANDLER_ARGS)
    app.middlewares.append(screen_requests)
    app[RUNTIME] = runtime
    app.router.add_post("/tg/{tenant}", telegram_update)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    routes_mpesa.add_routes(app)
    routes_paystack.add_routes(app)
    if workers:
        app.cleanup_ctx.append(_workers)
    return app


async def _workers(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(runtime.relay.run(stop), name="outbox-relay"),
        asyncio.create_task(runtime.reconciler.run(stop), name="reconciler"),
    ]
    if runtime.polling:
        poller = Poller(runtime.database, runtime.bots, runtime.processor)
        tasks.append(asyncio.create_task(poller.run(stop), name="telegram-polling"))
    yield
    stop.set()
    runtime.relay.wake()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
    for task in tasks:
        task.cancel()


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        async with runtime.database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await is_current(runtime.database.engine)
    except Exception as error:  # any failure to reach the database means not ready
        log.warning("readiness: database unreachable: %s", type(error).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    if not current:
        return web.json_response({"status": "unavailable", "database": "migrations pending"}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        await runtime.metrics.refresh(runtime.database, runtime.relay.stats, runtime.clock.now())
    except Exception as error:  # the process metrics are still worth serving when the database is away
        log.warning("metrics: database state unavailable: %s", type(error).__name__)
    return web.Response(body=runtime.metrics.render(), headers={"Content-Type": runtime.metrics.content_type})
