"""``POST /tg/{tenant}``: Telegram delivers a tenant bot's updates here, with that tenant's secret in a header.

The secret is checked before anything is done: a wrong one is refused with nothing read but the tenant's identity
(kept in memory, :mod:`core.tenant_cache`) and nothing written. A right one gets the update recorded and applied in
one unit of work (``bot.processor``); Telegram is answered as soon as that is committed, and the reply to the chat is
sent after the answer, so Telegram's delivery is not held up by our sends (a crash in between loses the reply, never
the change: it was committed first)."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.updates import read_body
from webhooks.keys import RUNTIME

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)


async def telegram_update(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    slug = request.match_info["tenant"]
    identity = await runtime.tenant_cache.webhook_identity(slug)  # no database read while kept (core/tenant_cache.py)
    if identity is None:
        runtime.metrics.updates.labels("unknown_tenant").inc()
        raise web.HTTPNotFound(text="unknown tenant")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), identity.secret.encode()):
        runtime.metrics.updates.labels("bad_secret").inc()
        log.warning("tenant %s: update refused, wrong or missing secret token", slug)
        raise web.HTTPUnauthorized(text="wrong secret token")
    update = read_body(await request.read())  # read, not built into aiogram's models (bot/updates.py)
    if update is None:  # Telegram retries a 400 a few times, then drops it; it never sends such a body itself
        runtime.metrics.updates.labels("malformed").inc()
        log.warning("tenant %s: update refused, the body is not a Telegram update", slug)
        raise web.HTTPBadRequest(text="not a Telegram update")
    # Counted by the processor, as polled updates are.
    _, follow_up = await runtime.processor.handle(identity.tenant_id, update)
    response = web.json_response({"ok": True})
    if follow_up is None:
        return response
    try:
        await response.prepare(request)
        await response.write_eof()  # Telegram has its answer; the chat's reply goes out now
    except ConnectionError:
        # Telegram gave up waiting (as aiohttp does, not an error of ours): the change is committed, so its retry is
        # a duplicate; the chat still gets its reply.
        log.info("tenant %s: Telegram left before the answer to update %s", slug, update.update_id)
    finally:
        await follow_up()  # always run: it is counted until it finishes, and owes the chat its reply
    return response
