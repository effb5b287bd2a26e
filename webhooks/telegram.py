"""``POST /tg/{tenant}``: Telegram delivers a tenant bot's updates here, with that tenant's secret in a header."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.updates import parse_update
from webhooks.keys import RUNTIME

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)


async def telegram_update(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    slug = request.match_info["tenant"]
    identity = await runtime.tenant_cache.webhook_identity(slug)  # no database read while kept (core/tenant_cache.py)
    if identity is None:
        runtime.metrics.updates.labels("unknown_tenant").inc()
        raise web.HTTPNotFound(text="unknown tenant")
    tenant_id = identity.tenant_id
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), identity.secret.encode()):
        runtime.metrics.updates.labels("bad_secret").inc()
        log.warning("tenant %s: update refused, wrong or missing secret token", slug)
        raise web.HTTPUnauthorized(text="wrong secret token")
    update = parse_update(await request.read())
    if update is None:  # Telegram retries a 400 a few times, then drops it; it never sends such a body itself
        runtime.metrics.updates.labels("malformed").inc()
        log.warning("tenant %s: update refused, the body is not a Telegram update", slug)
        raise web.HTTPBadRequest(text="not a Telegram update")
    await runtime.processor.process(tenant_id, update)  # counted by the processor, as polled updates are
    return web.json_response({"ok": True})
