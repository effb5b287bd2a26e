"""``POST /tg/{tenant}``: Telegram delivers a tenant bot's updates here, with that tenant's secret in a header."""

from __future__ import annotations

import hmac
import json
import logging

from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from core.db.repos.tenants import TenantRepository
from webhooks.keys import RUNTIME

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)


async def telegram_update(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    slug = request.match_info["tenant"]
    async with runtime.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        secret = runtime.vault.decrypt(tenant.webhook_secret_enc) if tenant else None
        tenant_id = tenant.id if tenant else None
    if tenant_id is None or secret is None:
        runtime.metrics.updates.labels("unknown_tenant").inc()
        raise web.HTTPNotFound(text="unknown tenant")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        runtime.metrics.updates.labels("bad_secret").inc()
        log.warning("tenant %s: update refused, wrong or missing secret token", slug)
        raise web.HTTPUnauthorized(text="wrong secret token")
    try:
        update = Update.model_validate(json.loads(await request.read()))
    except (ValueError, ValidationError):
        runtime.metrics.updates.labels("malformed").inc()
        raise web.HTTPBadRequest(text="not a Telegram update") from None
    await runtime.processor.process(tenant_id, update)  # counted by the processor, as polled updates are
    return web.json_response({"ok": True})
