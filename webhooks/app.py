"""The aiohttp application, built by a function: routes (each payment provider's from the registry), health,
metrics, and the background workers that live and die with it (the outbox relay, the payment jobs, the reconciler,
and long polling when there is no public URL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy import select, text

from bot.polling import Poller
from core.clock import utc
from core.db.migrate import is_current
from core.db.tables import Tenant
from webhooks import inbound, metrics_access, notify_reports
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
    inbound.mount(app)  # every payment provider's callbacks and pages, as its folder declares them
    notify_reports.mount(app)  # SMS delivery reports (notify/sms)
    if workers:
        app.cleanup_ctx.append(_workers)
    return app


async def _workers(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(runtime.relay.run(stop), name="outbox-relay"),
        asyncio.create_task(runtime.reconciler.run(stop), name="reconciler"),
        asyncio.create_task(runtime.jobs.run(stop), name="payment-jobs"),
        *(asyncio.create_task(worker.run(stop), name=worker.name) for worker in runtime.workers),
    ]
    if runtime.ingest is not None:
        tasks.append(asyncio.create_task(runtime.ingest.run(stop), name="inbound-events"))
    if runtime.polling:
        poller = Poller(runtime.database, runtime.channel, runtime.processor, clock=runtime.clock)
        tasks.append(asyncio.create_task(poller.run(stop), name="telegram-polling"))
    yield
    stop.set()
    runtime.relay.wake()
    runtime.jobs.wake()
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
        disabled = await _disabled_bots(runtime) if current else []
    except Exception as error:  # any failure to reach the database means not ready
        log.warning("readiness: database unreachable: %s", type(error).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    if not current:
        return web.json_response({"status": "unavailable", "database": "migrations pending"}, status=503)
    body: dict[str, object] = {"status": "ready"}
    # A bot whose token Telegram refused is told here, yet the process stays ready: readiness decides whether this
    # process gets traffic, and neither a restart nor another replica mends a revoked token, while every other shop
    # and every payment callback still needs this process. Unready for one shop's token would stop all of them.
    if disabled:
        body["disabled_bots"] = disabled
    return web.json_response(body)


async def _disabled_bots(runtime: Runtime) -> list[dict[str, str | None]]:
    async with runtime.database.uow(read_only=True) as uow:
        rows = await uow.session.execute(
            select(Tenant.slug, Tenant.bot_disabled_at, Tenant.bot_disabled_reason)
            .where(Tenant.bot_disabled_at.is_not(None))
            .order_by(Tenant.slug)
        )
        return [
            {"tenant": slug, "since": utc(since).isoformat() if since else None, "reason": reason}
            for slug, since, reason in rows
        ]


async def metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    refused = metrics_access.refusal(request, runtime.settings.metrics_token)
    if refused is not None:
        return refused
    try:
        await runtime.metrics.refresh(runtime.database, runtime.relay.stats, runtime.clock.now())
    except Exception as error:  # the process metrics are still worth serving when the database is away
        log.warning("metrics: database state unavailable: %s", type(error).__name__)
    return web.Response(body=runtime.metrics.render(), headers={"Content-Type": runtime.metrics.content_type})
