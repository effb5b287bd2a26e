"""``POST /notify/sms/{tenant}/reports``: Africa's Talking's delivery reports for the shop ``{tenant}`` (its slug).

They are unsigned claims (``notify.sms.reports``): matched to a message this shop sent, they record its delivery
status and nothing else. A report we can read is answered 200 whether it matched or not (Africa's Talking retries
anything else, and a stranger learns nothing from the answer); one we cannot read, 400; an unknown shop, 404."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from aiohttp import web

from core.db.repos.tenants import TenantRepository
from notify.sms.reports import Report, record_report
from webhooks.inbound import read_bounded
from webhooks.keys import RUNTIME

log = logging.getLogger(__name__)
_LIMIT = 4096  # a report is a handful of short fields


def mount(app: web.Application) -> None:
    app.router.add_post("/notify/sms/{tenant}/reports", sms_report)


async def sms_report(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    body = await read_bounded(request, _LIMIT)
    if body is None:
        return web.Response(status=413, text="too large")
    try:
        fields = {key: values[0] for key, values in parse_qs(body.decode("utf-8"), strict_parsing=False).items()}
    except UnicodeDecodeError:
        return web.Response(status=400, text="not a form")
    async with runtime.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(request.match_info["tenant"])
        if tenant is None:
            return web.Response(status=404, text="not found")
        outcome = await record_report(uow.session, tenant.id, fields, runtime.clock.now())
        await uow.commit()
    log.info("SMS delivery report for tenant %s: %s", tenant.id, outcome.value)
    if outcome is Report.MALFORMED:
        return web.Response(status=400, text="not a delivery report")
    return web.Response(text="ok")
